import type { Job, JobState, Worker } from 'bullmq';
import { hasEndToReport, type DownloadOutbox, type Logger } from '@ferry/core';
import { every } from './every.js';

/**
 * Reports each attempt's end once BullMQ recorded it: the worker's events fire
 * after that, so the job's state says whether a failure is final or will be
 * retried. A job retention removed at once is reported with the end it had.
 */
export function reportEnds(downloads: Worker, outbox: DownloadOutbox, logger: Logger): void {
  const report = (job: Job | undefined, end: 'completed' | 'failed') => {
    // A download with no callback and no batch was not marked: there is nothing to report or clear.
    if (job === undefined || !hasEndToReport(job.data)) return;
    // Only a failure may be followed by another attempt; after `completed` the state could say nothing else.
    const ended: Promise<JobState | 'unknown'> = end === 'completed' ? Promise.resolve(end) : job.getState();
    ended
      .then((state) => outbox.report(job, state === 'unknown' ? end : state))
      .catch((err: unknown) => logger.error({ jobId: job.id, err: (err as Error).message }, 'could not report the end of the download; a later sweep will'));
  };
  downloads.on('completed', (job) => report(job, 'completed'));
  downloads.on('failed', (job) => report(job, 'failed'));
}

/** Reports, every `intervalMs`, the ends a process died before reporting (see DownloadOutbox). */
export function startOutboxSweep(outbox: DownloadOutbox, intervalMs: number, logger: Logger): { stop: () => void } {
  const sweep = async () => {
    const reported = await outbox.sweep(intervalMs);
    if (reported > 0) logger.warn({ reported }, 'reported download ends that a process died before reporting');
  };
  return every(intervalMs, 'outbox sweep', logger, sweep, false);
}
