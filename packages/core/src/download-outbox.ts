import type { Job, JobState, Queue } from 'bullmq';
import type { DownloadState } from '@ferry/contract';
import type { RedisClient } from './redis/connections.js';
import type { BatchStore } from './batches/batch-store.js';
import { toDownloadStatus } from './download-status.js';
import { ferryKey } from './redis/keys.js';
import { queueDownloadCallback } from './webhooks/download-callback.js';

/**
 * The sorted set of downloads whose end may still need reporting, scored by when they were marked.
 * Still named `endings` in Redis, so marks left by an earlier build are reported after an upgrade.
 */
export const outboxKey = (prefix: string): string => ferryKey(prefix, 'endings');

/** The states a download is moved to without ending, by whoever moves it, and how BullMQ and the control field hold each. */
const MOVED_TO = {
  paused: ['delayed', 'pause'],
  delayed: ['delayed', undefined],
  queued: ['waiting', undefined],
} as const satisfies Partial<Record<DownloadState, readonly [JobState, 'pause' | undefined]>>;
export type MovedState = keyof typeof MOVED_TO;

/** Whether a download's end has anything to report: a callback to queue or a batch to count it. */
export function hasEndToReport(data: unknown): boolean {
  const { batchId, request } = (data ?? {}) as { batchId?: unknown; request?: { callbackUrl?: unknown } };
  return typeof batchId === 'string' || typeof request?.callbackUrl === 'string';
}

interface DownloadOutboxOptions {
  readonly redis: RedisClient;
  readonly downloads: Queue;
  readonly callbacks: Queue;
  readonly batches: BatchStore;
  readonly prefix: string;
}

/**
 * The end-of-download outbox (the transactional-outbox pattern). What happens when a download ends for good — its callback is queued and its
 * batch counts it — must not be lost when the process that ended it dies
 * between BullMQ recording the end and that work. So the end is marked first
 * (by the worker before it hands BullMQ the outcome, or by the cancel script
 * in the same step as the cancel), cleared once reported, and any worker
 * reports marks left behind. Reporting twice is harmless: the callback's job
 * id and the batch's outcome record are both keyed by the end.
 */
export class DownloadOutbox {
  readonly #key: string;

  constructor(private readonly options: DownloadOutboxOptions) {
    this.#key = outboxKey(options.prefix);
  }

  /** Marks that the download's attempt is ending; a later `report` (here or by a sweep) clears it. */
  async expect(id: string): Promise<void> {
    await this.options.redis.zadd(this.#key, Date.now(), id);
  }

  /**
   * Reports the end of a download in `state`. A state that is not an end (it will
   * run again, or it was paused or handed back) is only counted by its batch.
   */
  async report(job: Job, state: JobState | 'unknown'): Promise<void> {
    const ended = state === 'completed' || state === 'failed';
    // Undefined only for a job without an id (or in no state), which has nothing to report. A delayed
    // job may be paused: the batch's record reads its pause request in the same step (RECORD_MEMBER_STATE).
    const status = toDownloadStatus(job, state);
    if (status !== undefined && ended) {
      await queueDownloadCallback(this.options.callbacks, job, status);
      await this.options.batches.recordOutcome(status);
    } else if (status !== undefined) {
      await this.options.batches.recordRunning(status);
    }
    if (job.id !== undefined) await this.options.redis.zrem(this.#key, job.id);
  }

  /**
   * `job`, in hand, was just moved to `state` without ending (paused, resumed, handed back, made
   * to wait for a fleet limit) by the caller, who knows where it put it: its batch counts it
   * there, with no read. A download with no batch costs nothing.
   */
  async recount(job: Job, state: MovedState): Promise<void> {
    if (typeof (job.data as { batchId?: unknown } | undefined)?.batchId !== 'string') return;
    const [jobState, control] = MOVED_TO[state];
    const status = toDownloadStatus(job, jobState, control);
    if (status !== undefined) await this.options.batches.recordRunning(status);
  }

  /**
   * Reports the marks older than `olderThanMs`, which their process should have
   * reported long since. Each is claimed by removing it, so concurrent sweeps
   * by several workers report it once; a failed report puts it back.
   */
  async sweep(olderThanMs: number, limit = 500): Promise<number> {
    const { redis, downloads } = this.options;
    const stale = await redis.zrangebyscore(this.#key, '-inf', Date.now() - olderThanMs, 'LIMIT', 0, limit);
    let reported = 0;
    for (const id of stale) {
      if ((await redis.zrem(this.#key, id)) === 0) continue;
      try {
        const state = await downloads.getJobState(id);
        const job = await downloads.getJob(id);
        if (job !== undefined) await this.report(job, state);
        reported += 1;
      } catch (err) {
        await redis.zadd(this.#key, Date.now() - olderThanMs, id);
        throw err;
      }
    }
    return reported;
  }
}
