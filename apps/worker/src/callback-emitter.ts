import type { Job, Queue, Worker } from 'bullmq';
import { CALLBACK_JOB, DownloadJob, toDownloadStatus, type CallbackJob, type Logger } from '@ferry/core';

/**
 * Queues a completion callback when a download ends for good. Delivery is the
 * callbacks queue's work, with its own retries, never the download worker's:
 * a slow receiver must not hold a download slot. The callback's job id is
 * derived from the download's, so an event queued twice is delivered once.
 */
export function emitCallbacks(downloads: Worker, callbacks: Queue, logger: Logger): void {
  const emit = async (job: Job, type: CallbackJob['event']['type']) => {
    const parsed = DownloadJob.safeParse(job.data);
    const url = parsed.data?.request.callbackUrl;
    if (url === undefined || job.id === undefined) return;
    const state = await job.getState();
    // A failure that will be retried is not the end: only the final outcome is reported.
    if (type === 'download.failed' && state !== 'failed') return;
    const data = toDownloadStatus(job, state);
    if (data === undefined) return;
    const callback: CallbackJob = { url, event: { type, timestamp: new Date().toISOString(), data } };
    await callbacks.add(CALLBACK_JOB, callback, { jobId: `${job.id}.${type}` });
  };
  const report = (job: Job | undefined, type: CallbackJob['event']['type']) => {
    if (job === undefined) return;
    emit(job, type).catch((err: unknown) => logger.error({ jobId: job.id, err: (err as Error).message }, 'could not queue the completion callback'));
  };
  downloads.on('completed', (job) => report(job, 'download.completed'));
  downloads.on('failed', (job) => report(job, 'download.failed'));
}
