import type { Job } from 'bullmq';
import type { WorkerProgress } from '@ferry/engine';

/**
 * How long an attempt runs before its progress is written at all: a download that
 * ends sooner is over before anyone watching could see a figure, and its result (or
 * its final checkpoint, written when it stops) says all a progress write would.
 * A worker killed within this time leaves no checkpoint: the next attempt starts
 * over, losing at most this long's bytes.
 */
export const PROGRESS_QUIET_MS = 1000;

/**
 * Sends the newest progress to Redis, one write at a time: if a write is still
 * in flight, later values replace each other and only the last one is sent.
 * Nothing is sent during the first PROGRESS_QUIET_MS; `settle` then drops the
 * held value of an attempt that completed, and sends that of one that stopped
 * (its checkpoint is what a later attempt resumes from).
 */
export function progressWriter(job: Job, quietMs = PROGRESS_QUIET_MS) {
  const quietUntil = performance.now() + quietMs;
  let inFlight: Promise<void> | undefined;
  let next: WorkerProgress | undefined;
  const send = (progress: WorkerProgress): Promise<void> =>
    job.updateProgress(progress).then(
      () => undefined,
      () => undefined,
    );
  const drain = async (): Promise<void> => {
    while (next !== undefined) {
      const progress = next;
      next = undefined;
      await send(progress);
    }
    inFlight = undefined;
  };
  const flushed = () => inFlight ?? Promise.resolve();
  return {
    report(progress: WorkerProgress) {
      next = progress;
      if (performance.now() >= quietUntil) inFlight ??= drain();
    },
    /** Waits for the write in flight, if any. */
    flushed,
    /** The attempt is over: a completed one drops what is held, any other sends it; resolves once written. */
    settle(completed: boolean): Promise<void> {
      if (completed) next = undefined;
      else inFlight ??= drain();
      return flushed();
    },
  };
}
