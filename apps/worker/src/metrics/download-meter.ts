import type { Job, Processor, Worker } from 'bullmq';
import { WorkerProgress } from '@ferry/engine';
import { decodeFailureReason, type DownloadMetrics } from '@ferry/core';

/** Seconds since `ms` (an epoch time), or undefined for a job that does not say. */
const secondsSince = (ms: number | undefined): number | undefined => (ms === undefined ? undefined : (Date.now() - ms) / 1000);

/**
 * Feeds DownloadMetrics from one worker's downloads without touching the processor:
 * it wraps the processor (an attempt starts and stops around it, whatever it throws)
 * and listens to the worker's events. Each count is made once, where it happened:
 *
 * - an attempt is counted by the worker that ran it, on BullMQ's `completed`/`failed`
 *   events, which follow BullMQ recording the outcome; after `failed` a job carries
 *   `finishedOn` only if it failed for good, so a final failure and a retry are told
 *   apart without reading Redis. A pause, a hand-back at shutdown or a lost lock
 *   raises no event and is no attempt, as BullMQ counts none;
 * - bytes are counted from the progress the engine reports during the attempt (handed
 *   to `progress` by the processor, whether or not it is written to Redis), as the
 *   growth of `receivedBytes` from where the attempt started (a resume starts at its
 *   checkpoint, so kept bytes are not counted twice; a restart from 0 counts again
 *   what it fetches again, because it was received again).
 */
export class DownloadMeter {
  /** The last `receivedBytes` seen of each attempt running here, by job id. */
  readonly #received = new Map<string, number>();

  constructor(private readonly metrics: DownloadMetrics) {}

  wrap<R>(processor: Processor<unknown, R>): Processor<unknown, R> {
    return async (job, token, signal) => {
      const id = job.id ?? '';
      this.#received.set(id, WorkerProgress.safeParse(job.progress).data?.checkpoint?.bytes ?? 0);
      // attemptsStarted counts every start (pauses and hand-backs too): 1 is the first time the job left the queue.
      this.metrics.started(job.attemptsStarted === 1 ? secondsSince(job.timestamp + (job.opts.delay ?? 0)) : undefined);
      try {
        return await processor(job, token, signal);
      } finally {
        this.#received.delete(id);
        this.metrics.stopped();
      }
    };
  }

  observe(worker: Worker): void {
    worker.on('completed', (job) => this.metrics.completed(this.#duration(job)));
    worker.on('failed', (job) => {
      if (job === undefined) return;
      const { code } = decodeFailureReason(job.failedReason ?? '');
      this.metrics.failed(code, typeof job.finishedOn === 'number', this.#duration(job));
    });
  }

  progress(job: Job, progress: WorkerProgress): void {
    const id = job.id ?? '';
    const last = this.#received.get(id);
    const now = progress.receivedBytes;
    if (last === undefined) return;
    // Smaller than before: the attempt dropped what it kept and started over, so all of `now` is new.
    this.metrics.received(now >= last ? now - last : now);
    this.#received.set(id, now);
  }

  #duration(job: Job): number {
    return secondsSince(job.processedOn) ?? 0;
  }
}
