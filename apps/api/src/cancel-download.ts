import type { Queue } from 'bullmq';
import type { ControlOutcome, DownloadControl, DownloadOutbox } from '@ferry/core';

/**
 * Asks for a download's cancel. One that no worker held is cancelled here, so
 * reporting its end (callback, batch count) is this API's to do; the cancel
 * script marked the end, so a sweep reports it if this process dies first.
 */
export async function cancelDownload(control: DownloadControl, queue: Queue, outbox: DownloadOutbox, id: string): Promise<ControlOutcome> {
  const outcome = await control.request(id, 'cancel');
  if (outcome === 'cancelled') {
    const job = await queue.getJob(id);
    if (job !== undefined) await outbox.report(job, 'failed');
  }
  return outcome;
}
