import type { Queue } from 'bullmq';
import type { FastifyBaseLogger } from 'fastify';
import { DEFAULT_PAGE_LIMIT, FerryError, UNFINISHED_STATES, type BatchMember, type BatchStatus } from '@ferry/contract';
import { type BatchStore, type DownloadControl, type DownloadOutbox } from '@ferry/core';
import { batchStatus } from './batch-status.js';
import { cancelDownload } from './cancel-download.js';
import { loadBatchOf } from './owner.js';

interface CancelBatchDeps {
  readonly queue: Queue;
  readonly batches: BatchStore;
  readonly control: DownloadControl;
  /** Reports the end of a download cancelled here rather than by a worker (its callback, its batch count). */
  readonly outbox: DownloadOutbox;
}

// Cancels in flight at once: enough to cancel 10,000 members in a few round trips, few enough not to flood Redis.
const CANCEL_CONCURRENCY = 256;

/** Cancels `members` as DELETE /v1/downloads/:id would: waiting ones at once, active ones by their workers. */
async function cancelMembers(deps: CancelBatchDeps, members: readonly BatchMember[]): Promise<void> {
  for (let from = 0; from < members.length; from += CANCEL_CONCURRENCY) {
    await Promise.all(members.slice(from, from + CANCEL_CONCURRENCY).map(({ id }) => cancelDownload(deps.control, deps.queue, deps.outbox, id)));
  }
}

/** Cancels the running members of `owner`'s batch and answers its status with the first page of members. */
export async function cancelBatch(deps: CancelBatchDeps, owner: string, id: string, log: FastifyBaseLogger): Promise<BatchStatus> {
  const batch = await loadBatchOf(owner, deps.batches, id);
  // A second DELETE answers like the first; a batch that ended has nothing left to cancel.
  if (!batch.cancelled) {
    const running = (await deps.batches.page(batch, 0, batch.size)).filter((m) => UNFINISHED_STATES.has(m.state));
    if (running.length === 0) throw new FerryError('FERRY_ERR_WRONG_STATE', `batch ${batch.id} has ended; only a running batch can be cancelled`);
    await deps.batches.markCancelled(batch.id);
    await cancelMembers(deps, running);
    log.info({ batchId: batch.id, cancelled: running.length }, 'batch cancelled');
  }
  // Read again: members that ended meanwhile may have set the batch's finishedAt.
  const current = await loadBatchOf(owner, deps.batches, batch.id);
  return batchStatus(deps.batches, current, 0, DEFAULT_PAGE_LIMIT);
}
