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

/**
 * Slots whose release frees them once, however many of the engine's paths (segment end, refusal, failure) call it.
 * A pause or cancel does not wait for the grant: it throws at once, and what is granted later goes back as it comes.
 */
export async function takeOnce(take: TakeConnections | undefined, wanted: number, signal: AbortSignal): Promise<ConnectionSlot[]> {
  if (take === undefined) return Array.from({ length: wanted }, () => ({ release: () => undefined }));
  signal.throwIfAborted();
  let onAbort: (() => void) | undefined;
  const aborted = new Promise<never>((_, reject) => {
    onAbort = () => reject(signal.reason as Error);
    signal.addEventListener('abort', onAbort, { once: true });
  });
  const taking = take(wanted);
  const granted = await Promise.race([taking, aborted])
    .catch((err: unknown) => {
      void taking.then(releaseAll, () => undefined);
      throw err;
    })
    .finally(() => signal.removeEventListener('abort', onAbort!));
  // More than asked for goes back now: the engine opens no segment for it.
  releaseAll(granted.slice(wanted));
  return granted.slice(0, wanted).map((slot) => {
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
