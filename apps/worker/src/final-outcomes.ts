import type { Job, JobState, Worker } from 'bullmq';
import type { Logger } from '@ferry/core';

export type FinalOutcome = 'completed' | 'failed';

/**
 * Calls `handle` once a download has ended for good on this worker: completed,
 * or failed with no attempt left. A failure that will be retried is not the
 * end. `state` is the job's state as read afterwards, for building its status.
 */
export function onFinalOutcome(
  downloads: Worker,
  logger: Logger,
  what: string,
  handle: (job: Job, outcome: FinalOutcome, state: JobState | 'unknown') => Promise<void>,
): void {
  const run = async (job: Job, outcome: FinalOutcome) => {
    const state = await job.getState();
    if (outcome === 'failed' && state !== 'failed') return;
    await handle(job, outcome, state);
  };
  const report = (job: Job | undefined, outcome: FinalOutcome) => {
    if (job === undefined) return;
    run(job, outcome).catch((err: unknown) => logger.error({ jobId: job.id, err: (err as Error).message }, `could not ${what}`));
  };
  downloads.on('completed', (job) => report(job, 'completed'));
  downloads.on('failed', (job) => report(job, 'failed'));
}
