import { setTimeout as sleep } from 'node:timers/promises';
import type { Queue } from 'bullmq';
import type { FastifyBaseLogger } from 'fastify';
import { FerryError, type DownloadStatus } from '@ferry/contract';
import { type ControlAction, type DownloadControl, type DownloadOutbox, type LoadedDownload, type MovedState, type RedisClient } from '@ferry/core';
import { cancelDownload } from './cancel-download.js';
import { downloadAnswer, type DownloadAnswer } from './download-answer.js';
import { downloadNotFound, loadDownloadOf } from './owner.js';

interface StopDeps {
  readonly queue: Queue;
  /** The queue's connection. */
  readonly redis: RedisClient;
  readonly control: DownloadControl;
  /** Reports the end of a download cancelled here rather than by a worker (its callback, its batch count). */
  readonly outbox: DownloadOutbox;
}

/**
 * Counts a batch member the API just moved where it is now. The move is done and is what the
 * answer says; a recount Redis refuses only leaves the batch's counts behind until the member moves again.
 */
export async function recountMoved(outbox: DownloadOutbox, { job }: LoadedDownload, state: MovedState, log: FastifyBaseLogger): Promise<void> {
  await outbox.recount(job, state).catch((err: unknown) => log.warn({ jobId: job.id, err: (err as Error).message }, 'could not recount the batch'));
}

/** How long a cancel or pause of an active download waits for its worker before answering 202. */
export const STOP_WAIT_MS = 2000;
const STOP_POLL_MS = 50;

function wrongState(status: DownloadStatus, action: ControlAction): FerryError {
  const verb = action === 'cancel' ? 'cancelled' : 'paused';
  return new FerryError(
    'FERRY_ERR_WRONG_STATE',
    `download ${status.id} is ${status.state}; only a queued, delayed${action === 'cancel' ? ', paused' : ''} or active download can be ${verb}`,
  );
}

/**
 * Carries out a pause or cancel of `owner`'s download. A waiting or delayed job
 * changes at once; an active one is stopped by its worker, which this waits for
 * briefly so the caller usually gets the final state rather than "still stopping".
 */
export async function stopDownload(deps: StopDeps, owner: string, id: string, action: ControlAction, log: FastifyBaseLogger): Promise<DownloadAnswer> {
  const load = async (): Promise<DownloadStatus> => (await loadDownloadOf(owner, deps.queue, deps.redis, id)).status;
  const loaded = await loadDownloadOf(owner, deps.queue, deps.redis, id);
  const { status } = loaded;
  const target = action === 'cancel' ? 'cancelled' : 'paused';
  if (status.state === target) return downloadAnswer(200, status, target);
  const outcome = action === 'cancel' ? await cancelDownload(deps.control, deps.queue, deps.outbox, id) : await deps.control.request(id, action);
  if (outcome === 'missing') throw downloadNotFound(id);
  if (outcome === 'paused') await recountMoved(deps.outbox, loaded, 'paused', log);
  if (outcome === target) return downloadAnswer(200, status, target);
  if (outcome === 'active') {
    const deadline = Date.now() + STOP_WAIT_MS;
    for (;;) {
      const now = await load();
      if (now.state === target) return downloadAnswer(200, now, target);
      if (now.state !== 'active') throw wrongState(now, action);
      if (Date.now() >= deadline) return downloadAnswer(202, now, 'active');
      await sleep(STOP_POLL_MS);
    }
  }
  throw wrongState(await load(), action);
}
