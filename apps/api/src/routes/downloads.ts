import type { Queue } from 'bullmq';
import type { Redis } from 'ioredis';
import { setTimeout as sleep } from 'node:timers/promises';
import type { FastifyPluginAsync, FastifyReply, FastifyRequest } from 'fastify';
import {
  CLAIM_GRACE_MS,
  DownloadRequest,
  ENDED_STATES,
  FerryError,
  IDEMPOTENCY_KEY,
  ListQuery,
  loadDownloadStatus,
  newId,
  requestFingerprints,
  StoredDownload,
  type ControlAction,
  type DownloadAccepted,
  type DownloadControl,
  type BatchStore,
  type DownloadEndings,
  type DownloadIndex,
  type DownloadStatus,
  type LoadedDownload,
  type IdempotencyClaim,
  type IdempotencyStore,
  type HeaderSealer,
  type Storage,
} from '@ferry/core';
import { checkDownloadRequest, type RequestPolicy } from '../check-download-request.js';
import { enqueueDownloads } from '../enqueue.js';
import { cancelDownload } from '../cancel-download.js';
import { retryDownload } from '../retry-download.js';
import { invalidRequest, validationError } from '../errors.js';
import { listDownloads } from '../list-downloads.js';
import { serveStoredFile } from '../serve-stored-file.js';
import { downloadNotFound, loadOwnDownload, ownerOf } from '../owner.js';

export interface DownloadRoutesOptions {
  readonly queue: Queue;
  /** The queue's connection. */
  readonly redis: Redis;
  readonly policy: RequestPolicy;
  readonly index: DownloadIndex;
  readonly control: DownloadControl;
  /** Reports the end of a download cancelled here rather than by a worker (its callback, its batch count). */
  readonly endings: DownloadEndings;
  readonly idempotency: IdempotencyStore;
  /** A cancelled or retried batch member changes its batch's outcome. */
  readonly batches: BatchStore;
  /** Where completed files are, for the content route. */
  readonly storage: Storage;
  readonly sealer: HeaderSealer;
}

/** How long a cancel or pause of an active download waits for its worker before answering 202. */
export const STOP_WAIT_MS = 2000;
const STOP_POLL_MS = 50;
/** How long a POST waits for another request with its Idempotency-Key to finish enqueueing: a few takeovers' worth. */
const CLAIM_WAIT_MS = 5 * CLAIM_GRACE_MS;
const CLAIM_POLL_MS = 25;

function wrongState(status: DownloadStatus, action: ControlAction): FerryError {
  const verb = action === 'cancel' ? 'cancelled' : 'paused';
  return new FerryError(
    'FERRY_ERR_WRONG_STATE',
    `download ${status.id} is ${status.state}; only a queued, delayed${action === 'cancel' ? ', paused' : ''} or active download can be ${verb}`,
  );
}

export const downloadRoutes: FastifyPluginAsync<DownloadRoutesOptions> = async (app, { queue, redis, policy, index, control, endings, idempotency, batches, storage, sealer }) => {
  const accepted = (reply: FastifyReply, httpStatus: 200 | 202, download: { id: string; url: string }, state: DownloadAccepted['state']) =>
    reply.status(httpStatus).header('location', `/v1/downloads/${download.id}`).send({ id: download.id, state, url: download.url } satisfies DownloadAccepted);

  app.post('/v1/downloads', async (request, reply) => {
    const parsed = DownloadRequest.safeParse(request.body);
    if (!parsed.success) throw validationError(parsed.error, Object.keys(DownloadRequest.shape));
    checkDownloadRequest(parsed.data, policy);
    const header = request.headers['idempotency-key'];
    const idempotencyKey = typeof header === 'string' ? header : parsed.data.idempotencyKey;
    if (typeof header === 'string' && (!IDEMPOTENCY_KEY.test(header) || (parsed.data.idempotencyKey ?? header) !== header)) {
      throw invalidRequest([{ path: 'Idempotency-Key', message: 'must be 1-255 printable ASCII characters without spaces, and equal idempotencyKey if both are sent' }]);
    }
    const owner = ownerOf(request);
    const claim = idempotencyKey === undefined ? undefined : await claimKey(owner, idempotencyKey, requestFingerprints(parsed.data, sealer));
    if (claim !== undefined && claim.outcome === 'conflict') {
      throw new FerryError(
        'FERRY_ERR_IDEMPOTENCY_CONFLICT',
        `Idempotency-Key ${idempotencyKey} was used for a different request (download ${claim.record.id}); use a new key for a new request`,
      );
    }
    if (claim !== undefined && claim.outcome === 'replay') {
      // The job was enqueued: if it is gone, retention removed it.
      const state = (await loadDownloadStatus(queue, redis, claim.record.id))?.status.state ?? 'expired';
      return accepted(reply, 200, { id: claim.record.id, url: parsed.data.url }, state);
    }
    const id = claim?.record.id ?? newId();
    const [delayed] = await enqueueDownloads({ queue, index, sealer }, owner, [{ id, job: { request: parsed.data } }], claim?.record.createdAt);
    if (claim !== undefined && idempotencyKey !== undefined) {
      // The job exists, so the answer below is true; an unmarked claim is marked by the next one that finds the job.
      await idempotency
        .markEnqueued(owner, idempotencyKey, claim.record)
        .catch((err: Error) => request.log.warn({ jobId: id, err: err.message }, 'could not mark an idempotency key enqueued'));
    }
    request.log.info({ jobId: id, url: parsed.data.url, owner }, 'download enqueued');
    return accepted(reply, 202, { id, url: parsed.data.url }, delayed === true ? 'delayed' : 'queued');
  });

  /**
   * Claims an idempotency key, waiting while another request enqueues its download: an id is
   * answered only once its job exists. A claim left unfinished by a request that lost Redis is
   * taken over after CLAIM_GRACE_MS, by this request or another.
   */
  async function claimKey(owner: string, key: string, fingerprints: readonly string[]): Promise<IdempotencyClaim> {
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

  app.get('/v1/downloads', async (request, reply) => {
    const query = ListQuery.safeParse(request.query);
    if (!query.success) throw validationError(query.error, Object.keys(ListQuery.shape), 'list query');
    return reply.send(await listDownloads({ queue, redis, index, batches }, ownerOf(request), query.data));
  });

  const ownDownload = (request: FastifyRequest, id: string): Promise<LoadedDownload> => loadOwnDownload(request, queue, redis, id);
  const ownStatus = async (request: FastifyRequest, id: string): Promise<DownloadStatus> => (await ownDownload(request, id)).status;

  app.get<{ Params: { id: string } }>('/v1/downloads/:id', async (request, reply) => reply.send(await ownStatus(request, request.params.id)));

  /**
   * Carries out a pause or cancel. A waiting or delayed job changes at once; an
   * active one is stopped by its worker, which this waits for briefly so the
   * caller usually gets the final state rather than "still stopping".
   */
  async function stop(request: FastifyRequest, reply: FastifyReply, action: ControlAction): Promise<FastifyReply> {
    const { id } = request.params as { id: string };
    const { status } = await ownDownload(request, id);
    const target = action === 'cancel' ? 'cancelled' : 'paused';
    if (status.state === target) return accepted(reply, 200, status, target);
    const outcome = action === 'cancel' ? await cancelDownload(control, queue, endings, id) : await control.request(id, action);
    if (outcome === 'missing') throw downloadNotFound(id);
    if (outcome === target) return accepted(reply, 200, status, target);
    if (outcome === 'active') {
      const deadline = Date.now() + STOP_WAIT_MS;
      for (;;) {
        const now = (await ownDownload(request, id)).status;
        if (now.state === target) return accepted(reply, 200, now, target);
        if (now.state !== 'active') throw wrongState(now, action);
        if (Date.now() >= deadline) return accepted(reply, 202, now, 'active');
        await sleep(STOP_POLL_MS);
      }
    }
    throw wrongState((await ownDownload(request, id)).status, action);
  }

  app.delete<{ Params: { id: string } }>('/v1/downloads/:id', (request, reply) => stop(request, reply, 'cancel'));
  app.post<{ Params: { id: string } }>('/v1/downloads/:id/pause', (request, reply) => stop(request, reply, 'pause'));

  app.post<{ Params: { id: string } }>('/v1/downloads/:id/resume', async (request, reply) => {
    const { status, job, control: pending } = await ownDownload(request, request.params.id);
    if (status.state === 'active' && pending === 'pause') {
      throw new FerryError('FERRY_ERR_WRONG_STATE', `download ${status.id} is still being paused by its worker; resume it once its state is paused`);
    }
    if (status.state !== 'paused') {
      throw new FerryError('FERRY_ERR_WRONG_STATE', `download ${status.id} is ${status.state}; only a paused download can be resumed`);
    }
    await control.clear(status.id);
    // It continues from the checkpoint its worker kept when it paused.
    await job.promote();
    request.log.info({ jobId: status.id }, 'download resumed');
    return accepted(reply, 202, status, 'queued');
  });

  app.post<{ Params: { id: string } }>('/v1/downloads/:id/retry', async (request, reply) => {
    const { status, job } = await ownDownload(request, request.params.id);
    await retryDownload({ control, batches }, status, job);
    request.log.info({ jobId: status.id }, 'download retried');
    return accepted(reply, 202, status, 'queued');
  });

  app.get<{ Params: { id: string } }>('/v1/downloads/:id/content', async (request, reply) => {
    const { status, job } = await ownDownload(request, request.params.id);
    if (status.result === null) {
      // An ended download without a result will not get one by waiting: NOT_READY would tell the caller to wait.
      if (ENDED_STATES.has(status.state)) {
        throw new FerryError(
          'FERRY_ERR_WRONG_STATE',
          `download ${status.id} is ${status.state}, so it has no content and will get none unless it is retried (POST /v1/downloads/${status.id}/retry)`,
        );
      }
      throw new FerryError('FERRY_ERR_NOT_READY', `download ${status.id} is ${status.state}; its content is available once it is completed`);
    }
    const { result } = status;
    // Only the very bytes the status describes: a file since replaced under the same name is another download's.
    const opened = await storage.openStored({
      namespace: ownerOf(request),
      location: result.location,
      version: StoredDownload.safeParse(job.returnvalue).data?.storedVersion,
      sha256: result.sha256,
    });
    if (!opened.found) {
      throw new FerryError(
        'FERRY_ERR_NOT_FOUND',
        opened.why === 'missing'
          ? `the file of download ${status.id} is no longer in storage`
          : `the file of download ${status.id} was replaced in storage since it completed (by a later download of the same name with onConflict overwrite, or by hand); retry the download to store it again`,
      );
    }
    return serveStoredFile(request, reply, opened.reader, {
      etag: `"${result.sha256}"`,
      contentType: result.contentType ?? 'application/octet-stream',
      filename: result.filename,
    });
  });
};
