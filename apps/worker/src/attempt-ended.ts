import type { Job, JobState, Worker } from 'bullmq';
import type { Logger } from '@ferry/core';

export type AttemptEnd = 'completed' | 'failed';

/**
 * Calls `handle` after each attempt that completed or failed, with the job's
 * state read afterwards: the worker's events fire once BullMQ recorded the
 * outcome, so the state says whether a failure is final or will be retried.
 */
export function onAttemptEnded(
  downloads: Worker,
  logger: Logger,
  what: string,
  handle: (job: Job, end: AttemptEnd, state: JobState | 'unknown') => Promise<void>,
): void {
  const report = (job: Job | undefined, end: AttemptEnd) => {
    if (job === undefined) return;
    job
      .getState()
      .then((state) => handle(job, end, state))
      .catch((err: unknown) => logger.error({ jobId: job.id, err: (err as Error).message }, `could not ${what}`));
  };
  downloads.on('completed', (job) => report(job, 'completed'));
  downloads.on('failed', (job) => report(job, 'failed'));
}
