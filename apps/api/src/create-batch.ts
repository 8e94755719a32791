import { type BatchAccepted, type BatchRequest } from '@ferry/contract';
import { newId, type BatchStore } from '@ferry/core';
import { enqueueDownloads, startsLater, type EnqueueTarget } from './enqueue.js';

interface CreateBatchDeps extends EnqueueTarget {
  readonly batches: BatchStore;
}

/** Records a checked batch for `owner` and enqueues its members, all or none: a failed enqueue removes the batch again. */
export async function createBatch(deps: CreateBatchDeps, owner: string, batch: BatchRequest): Promise<BatchAccepted> {
  const id = newId();
  const members = batch.downloads.map((download) => ({ id: newId(), job: { request: download, batchId: id } }));
  await deps.batches.create({
    id,
    owner,
    createdAt: Date.now(),
    callbackUrl: batch.callbackUrl,
    members: members.map((m) => ({ id: m.id, url: m.job.request.url, delayed: startsLater(m.job.request) })),
  });
  try {
    await enqueueDownloads(deps, owner, members);
  } catch (err) {
    await deps.batches.remove(id).catch(() => undefined);
    throw err;
  }
  return { id, size: members.length, downloads: members.map((m) => m.id) };
}
