import type { Job, Queue, Worker } from 'bullmq';
import { queueDownloadCallback, type Logger } from '@ferry/core';

/**
 * Queues a download's callback when it ends for good. The worker's events fire
 * after BullMQ recorded the outcome, so the job's state says whether a failure
 * is final or will be retried (then nothing is sent yet).
 */
export function emitCallbacks(downloads: Worker, callbacks: Queue, logger: Logger): void {
  const report = (job: Job | undefined) => {
    if (job === undefined) return;
    job
      .getState()
      .then((state) => queueDownloadCallback(callbacks, job, state))
      .catch((err: unknown) => logger.error({ jobId: job.id, err: (err as Error).message }, 'could not queue the completion callback'));
  };
  downloads.on('completed', (job) => report(job));
  downloads.on('failed', (job) => report(job));
}
