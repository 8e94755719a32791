import { setTimeout as sleep } from 'node:timers/promises';
import type { FastifyBaseLogger } from 'fastify';
import { FerryError, IDEMPOTENCY_KEY, type DownloadRequest } from '@ferry/contract';
import {
  CLAIM_GRACE_MS,
  confirmReplicated,
  loadDownloadStatus,
  newId,
  requestFingerprints,
  type IdempotencyClaim,
  type IdempotencyStore,
  type RedisClient,
} from '@ferry/core';
import { downloadAnswer, type DownloadAnswer } from './download-answer.js';
import { enqueueDownloads, type EnqueueTarget } from './enqueue.js';
import { invalidRequest } from './errors.js';

interface AcceptDeps extends EnqueueTarget {
  /** The queue's connection. */
  readonly redis: RedisClient;
  readonly idempotency: IdempotencyStore;
}

/** How long a POST waits for another request with its Idempotency-Key to finish enqueueing: a few takeovers' worth. */
const CLAIM_WAIT_MS = 5 * CLAIM_GRACE_MS;
const CLAIM_POLL_MS = 25;

/** The request's idempotency key, from the Idempotency-Key header or the body's field, which must agree when both are sent. */
export function idempotencyKeyOf(header: string | string[] | undefined, request: DownloadRequest): string | undefined {
  if (typeof header !== 'string') return request.idempotencyKey;
  if (!IDEMPOTENCY_KEY.test(header) || (request.idempotencyKey ?? header) !== header) {
    throw invalidRequest([
      { path: 'Idempotency-Key', message: 'must be 1-255 printable ASCII characters without spaces, and equal idempotencyKey if both are sent' },
    ]);
  }
  return header;
}

/**
 * Claims an idempotency key, waiting while another request enqueues its download: an id is
 * answered only once its job exists. A claim left unfinished by a request that lost Redis is
 * taken over after CLAIM_GRACE_MS, by this request or another.
 */
async function claimKey(idempotency: IdempotencyStore, owner: string, key: string, fingerprints: readonly string[]): Promise<IdempotencyClaim> {
  const deadline = Date.now() + CLAIM_WAIT_MS;
  for (;;) {
    const claim = await idempotency.claim(owner, key, newId(), fingerprints);
    if (claim.outcome !== 'pending') return claim;
    if (Date.now() >= deadline) {
      throw new FerryError(
        'FERRY_ERR_REDIS_UNAVAILABLE',
        `the earlier request with Idempotency-Key ${key} is still enqueueing download ${claim.record.id} (Redis is slow or unreachable); nothing new was accepted; retry shortly`,
      );
    }
    await sleep(CLAIM_POLL_MS);
  }
}

/**
 * Enqueues a checked download request for `owner`. With an idempotency key, a request
 * seen before answers its first download (200) instead, and a different request under
 * the same key is refused.
 */
export async function acceptDownload(
  deps: AcceptDeps,
  owner: string,
  request: DownloadRequest,
  idempotencyKey: string | undefined,
  log: FastifyBaseLogger,
): Promise<DownloadAnswer> {
  const claim = idempotencyKey === undefined ? undefined : await claimKey(deps.idempotency, owner, idempotencyKey, requestFingerprints(request, deps.sealer));
  if (claim !== undefined && claim.outcome === 'conflict') {
    throw new FerryError(
      'FERRY_ERR_IDEMPOTENCY_CONFLICT',
      `Idempotency-Key ${idempotencyKey} was used for a different request (download ${claim.record.id}); use a new key for a new request`,
    );
  }
  if (claim !== undefined && claim.outcome === 'replay') {
    // The first request may have lost its answer to a replica that did not confirm: this one answers only what a replica holds.
    await confirmReplicated(deps.redis, deps.replicas, `download ${claim.record.id}`);
    // The job was enqueued: if it is gone, retention removed it.
    const state = (await loadDownloadStatus(deps.queue, deps.redis, claim.record.id))?.status.state ?? 'expired';
    return downloadAnswer(200, { id: claim.record.id, url: request.url }, state);
  }
  const id = claim?.record.id ?? newId();
  const [delayed] = await enqueueDownloads(deps, owner, [{ id, job: { request } }], claim?.record.createdAt);
  if (claim !== undefined && idempotencyKey !== undefined) {
    // The job exists, so the answer below is true; an unmarked claim is marked by the next one that finds the job.
    await deps.idempotency
      .markEnqueued(owner, idempotencyKey, claim.record)
      .catch((err: Error) => log.warn({ jobId: id, err: err.message }, 'could not mark an idempotency key enqueued'));
  }
  log.info({ jobId: id, url: request.url, owner }, 'download enqueued');
  return downloadAnswer(202, { id, url: request.url }, delayed === true ? 'delayed' : 'queued');
}
