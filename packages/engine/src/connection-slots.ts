/** One connection to the download's host beyond the one it holds, granted by the fleet's per-host limit. */
export interface ConnectionSlot {
  /**
   * Gives the connection back; called once the segment it carried ends, however it ended. `refusal` is
   * the error its range was refused with, if it was: a 429 or 503 there is the origin's backpressure.
   */
  release(refusal?: unknown): void;
}

/**
 * Asks for up to `wanted` more connections to the download's host without waiting: resolves with
 * those that are free now, maybe none. The engine opens one segment per slot and no more.
 */
export type TakeConnections = (wanted: number) => Promise<readonly ConnectionSlot[]>;

/** Slots whose release frees them once, however many of the engine's paths (segment end, refusal, failure) call it. */
export async function takeOnce(take: TakeConnections | undefined, wanted: number): Promise<ConnectionSlot[]> {
  if (take === undefined) return Array.from({ length: wanted }, () => ({ release: () => undefined }));
  return (await take(wanted)).slice(0, wanted).map((slot) => {
    let held = true;
    return {
      release: (refusal?: unknown) => {
        if (!held) return;
        held = false;
        slot.release(refusal);
      },
    };
  });
}

export function releaseAll(slots: readonly ConnectionSlot[] | undefined): void {
  for (const slot of slots ?? []) slot.release();
}
