import type { Job, Queue } from 'bullmq';
import { FerryError, type DownloadStatus } from '@ferry/contract';
import { loadDownloadStatus, type BatchStore, type DownloadControl, type RedisClient } from '@ferry/core';

export interface RetryDeps {
  readonly control: DownloadControl;
  /** A retried batch member makes its batch run again. */
  readonly batches: BatchStore;
}

/**
 * Runs a failed or cancelled download again, for the API and the dashboard
 * alike: with the full number of attempts, its pause or cancel request
 * forgotten and its batch reopened. Other states are refused.
 */
export async function retryDownload({ control, batches }: RetryDeps, status: DownloadStatus, job: Job): Promise<void> {
  if (status.state !== 'failed' && status.state !== 'cancelled') {
    throw new FerryError('FERRY_ERR_NOT_RETRYABLE_STATE', `download ${status.id} is ${status.state}; only a failed or cancelled download can be retried`);
  }
  await control.clear(status.id);
  // Forgotten before the retry, so that the retried run's own end is the one its batch records.
  if (status.batchId !== null) await batches.reopen(status.batchId, status.id);
  try {
    // A retry is a fresh start: the full number of attempts again.
    await job.retry('failed', { resetAttemptsMade: true, resetAttemptsStarted: true });
  } catch (err) {
    if (status.batchId !== null) await batches.recordOutcome(status);
    throw err;
  }
}

/**
 * The dashboard's "Retry all" of failed downloads. BullMQ keeps cancelled
 * downloads among its failed jobs, and retrying those would undo what a caller
 * asked for, so they stay (counted in `cancelled`); one can still be retried on
 * its own, as the API allows. `skipped` keeps Bull Board's meaning, which its
 * page explains: jobs gone (or no longer failed) by the time they were reached.
 */
export async function retryFailedDownloads(
  deps: RetryDeps & { readonly queue: Queue; readonly redis: RedisClient },
): Promise<{ retried: number; skipped: number; cancelled: number }> {
  const counts = { retried: 0, skipped: 0, cancelled: 0 };
  for (const id of await deps.queue.getRanges(['failed'], 0, -1)) {
    const loaded = await loadDownloadStatus(deps.queue, deps.redis, id);
    const state = loaded?.status.state;
    if (loaded !== undefined && state === 'failed') {
      await retryDownload(deps, loaded.status, loaded.job);
      counts.retried += 1;
    } else {
      counts[state === 'cancelled' ? 'cancelled' : 'skipped'] += 1;
    }
  }
  return counts;
}
