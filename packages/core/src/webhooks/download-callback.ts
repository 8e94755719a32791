import type { Job, Queue } from 'bullmq';
import { DownloadJob } from '../download-job.js';
import { type DownloadStatus } from '@ferry/contract';
import { CALLBACK_JOB, type CallbackJob, type DownloadCallbackType } from './callbacks.js';

const EVENT_TYPES: Partial<Record<string, DownloadCallbackType>> = {
  completed: 'download.completed',
  failed: 'download.failed',
  cancelled: 'download.cancelled',
};

/**
 * Queues the callback of a download that has ended for good (completed, failed
 * after its last attempt, or cancelled; `data` is its status), if it asked for
 * one. Delivery is the callbacks queue's work, with its own retries. The
 * callback's id (also its `webhook-id`) names the download, the outcome and
 * when it ended, so the same ending queued twice is delivered once, while a
 * retried download that ends again is reported again.
 */
export async function queueDownloadCallback(callbacks: Queue, job: Job, data: DownloadStatus): Promise<void> {
  const download = DownloadJob.safeParse(job.data).data;
  const url = download?.request.callbackUrl;
  const type = EVENT_TYPES[data.state];
  if (download === undefined || url === undefined || type === undefined) return;
  const callback: CallbackJob = { url, owner: download.owner, event: { type, timestamp: new Date().toISOString(), data } };
  await callbacks.add(CALLBACK_JOB, callback, { jobId: `${data.id}.${type}.${job.finishedOn ?? 0}` });
}
