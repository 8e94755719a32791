import type { Queue, Worker } from 'bullmq';
import { CALLBACK_JOB, DownloadJob, toDownloadStatus, type CallbackJob, type Logger } from '@ferry/core';
import { onFinalOutcome } from './final-outcomes.js';

/**
 * Queues a completion callback when a download ends for good. Delivery is the
 * callbacks queue's work, with its own retries, never the download worker's:
 * a slow receiver must not hold a download slot. The callback's job id is
 * derived from the download's, so an event queued twice is delivered once.
 */
export function emitCallbacks(downloads: Worker, callbacks: Queue, logger: Logger): void {
  onFinalOutcome(downloads, logger, 'queue the completion callback', async (job, outcome, state) => {
    const url = DownloadJob.safeParse(job.data).data?.request.callbackUrl;
    if (url === undefined || job.id === undefined) return;
    const data = toDownloadStatus(job, state);
    if (data === undefined) return;
    const type = outcome === 'completed' ? 'download.completed' : 'download.failed';
    const callback: CallbackJob = { url, event: { type, timestamp: new Date().toISOString(), data } };
    await callbacks.add(CALLBACK_JOB, callback, { jobId: `${job.id}.${type}` });
  });
}
