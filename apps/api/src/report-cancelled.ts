import type { Job, Queue } from 'bullmq';
import { queueDownloadCallback, type BatchStore } from '@ferry/core';

/**
 * A download cancelled before any worker took it ends in the API, not in a
 * worker: what a worker does when a download ends is this API's to do. Its
 * callback is queued, and its batch counts it as ended.
 */
export async function reportCancelled(callbacks: Queue, batches: BatchStore, job: Job): Promise<void> {
  await queueDownloadCallback(callbacks, job, 'failed');
  await batches.recordOutcome(job, 'failed');
}
