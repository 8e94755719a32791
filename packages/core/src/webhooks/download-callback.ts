import type { Job, JobState, Queue } from 'bullmq';
import { toDownloadStatus } from '../download-status.js';
import { DownloadJob } from '../schemas.js';
import { CALLBACK_JOB, type CallbackJob, type DownloadCallbackType } from './callbacks.js';

const EVENT_TYPES: Partial<Record<string, DownloadCallbackType>> = {
  completed: 'download.completed',
  failed: 'download.failed',
  cancelled: 'download.cancelled',
};

/**
 * Queues the callback of a download that has ended for good (completed, failed
 * after its last attempt, or cancelled), if it asked for one. Delivery is the
 * callbacks queue's work, with its own retries. The callback's id (also its
 * `webhook-id`) names the download, the outcome and when it ended, so the same
 * ending queued twice is delivered once, while a retried download that ends
 * again is reported again.
 */
export async function queueDownloadCallback(callbacks: Queue, job: Job, state: JobState | 'unknown'): Promise<void> {
  const url = DownloadJob.safeParse(job.data).data?.request.callbackUrl;
  if (url === undefined || job.id === undefined) return;
  const data = toDownloadStatus(job, state);
  const type = data === undefined ? undefined : EVENT_TYPES[data.state];
  if (data === undefined || type === undefined) return;
  const callback: CallbackJob = { url, event: { type, timestamp: new Date().toISOString(), data } };
  await callbacks.add(CALLBACK_JOB, callback, { jobId: `${job.id}.${type}.${job.finishedOn ?? 0}` });
}
