/** How far back the speed is averaged: long enough to smooth a bursty origin, short enough to follow a real change. */
export const SPEED_WINDOW_MS = 5000;

interface Sample {
  readonly at: number;
  readonly bytes: number;
}

/**
 * Bytes per second and time left for one download, from its successive
 * progress reports (one per PROGRESS_INTERVAL_MS at most, as workers throttle them).
 */
export class SpeedMeter {
  #samples: Sample[] = [];

  /** Records a report taken `at` (epoch ms) and returns the speed and ETA it implies; null until two reports arrived. */
  update(at: number, receivedBytes: number, totalBytes: number | null): { bytesPerSecond: number | null; etaSeconds: number | null } {
    const last = this.#samples.at(-1);
    // Fewer bytes than before: a new attempt started over, and the old samples say nothing about it.
    if (last !== undefined && receivedBytes < last.bytes) this.#samples = [];
    this.#samples.push({ at, bytes: receivedBytes });
    while (this.#samples.length > 2 && at - this.#samples[0]!.at > SPEED_WINDOW_MS) this.#samples.shift();
    const first = this.#samples[0]!;
    const elapsedMs = at - first.at;
    const bytesPerSecond = this.#samples.length < 2 || elapsedMs <= 0 ? null : Math.round(((receivedBytes - first.bytes) * 1000) / elapsedMs);
    const etaSeconds =
      bytesPerSecond === null || bytesPerSecond <= 0 || totalBytes === null ? null : Math.max(0, Math.ceil((totalBytes - receivedBytes) / bytesPerSecond));
    return { bytesPerSecond, etaSeconds };
  }
}
