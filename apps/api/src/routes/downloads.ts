import { randomUUID } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import fastifyStatic from '@fastify/static';
import type { Queue } from 'bullmq';
import type { Redis } from 'ioredis';
import type { FastifyPluginAsync, FastifyRequest } from 'fastify';
import {
  downloadStateOf,
  DownloadRequest,
  FerryError,
  IDEMPOTENCY_KEY,
  requestFingerprint,
  type BatchStore,
  type DownloadIndex,
  type DownloadStatus,
  type IdempotencyStore,
} from '@ferry/core';
import { checkDownloadRequest, type RequestPolicy } from '../check-download-request.js';
import { enqueueDownloads } from '../enqueue.js';
import { invalidRequest, sendError, validationError } from '../errors.js';
import { ownDownload, ownerOf } from '../owner.js';

export interface DownloadRoutesOptions {
  readonly queue: Queue;
  /** The queue's connection. */
  readonly redis: Redis;
  readonly policy: RequestPolicy;
  readonly index: DownloadIndex;
  readonly idempotency: IdempotencyStore;
  /** A retried batch member runs again, so its batch must count it as running. */
  readonly batches: BatchStore;
  /** Where completed files are, for the content route. */
  readonly storageDir: string;
}

export const downloadRoutes: FastifyPluginAsync<DownloadRoutesOptions> = async (app, { queue, redis, policy, index, idempotency, batches, storageDir }) => {
  // Workers create it on their first download; the API may start first, and @fastify/static wants it to exist.
  await mkdir(storageDir, { recursive: true });
  await app.register(fastifyStatic, { root: storageDir, serve: false });

  app.post('/v1/downloads', async (request, reply) => {
    const parsed = DownloadRequest.safeParse(request.body);
    if (!parsed.success) return sendError(reply, validationError(parsed.error, Object.keys(DownloadRequest.shape)));
    checkDownloadRequest(parsed.data, policy);
    const header = request.headers['idempotency-key'];
    const idempotencyKey = typeof header === 'string' ? header : parsed.data.idempotencyKey;
    if (typeof header === 'string' && (!IDEMPOTENCY_KEY.test(header) || (parsed.data.idempotencyKey ?? header) !== header)) {
      return sendError(
        reply,
        invalidRequest([{ path: 'Idempotency-Key', message: 'must be 1-255 printable ASCII characters without spaces, and equal idempotencyKey if both are sent' }]),
      );
    }
    const owner = ownerOf(request);
    const id = randomUUID();
    const fingerprint = requestFingerprint(parsed.data);
    if (idempotencyKey !== undefined) {
      const earlier = await idempotency.claim(owner, idempotencyKey, { id, fingerprint, enqueued: false });
      if (earlier !== undefined) {
        if (earlier.fingerprint !== fingerprint) {
          return sendError(
            reply,
            new FerryError('FERRY_ERR_IDEMPOTENCY_CONFLICT', `Idempotency-Key ${idempotencyKey} was used for a different request (download ${earlier.id}); use a new key for a new request`),
          );
        }
        // No job: either the first request is still enqueueing it, or retention has removed it since.
        const state = downloadStateOf(await queue.getJobState(earlier.id)) ?? (earlier.enqueued ? 'expired' : 'queued');
        return reply.status(200).header('location', `/v1/downloads/${earlier.id}`).send({ id: earlier.id, state, url: parsed.data.url });
      }
    }
    let delayed: boolean | undefined;
    try {
      [delayed] = await enqueueDownloads(queue, index, [{ id, job: { owner, request: parsed.data } }]);
    } catch (err) {
      if (idempotencyKey !== undefined) await idempotency.release(owner, idempotencyKey).catch(() => undefined);
      throw err;
    }
    if (idempotencyKey !== undefined) await idempotency.markEnqueued(owner, idempotencyKey, { id, fingerprint, enqueued: true });
    request.log.info({ jobId: id, url: parsed.data.url, owner }, 'download enqueued');
    return reply
      .status(202)
      .header('location', `/v1/downloads/${id}`)
      .send({ id, state: delayed === true ? 'delayed' : 'queued', url: parsed.data.url });
  });

  const ownStatus = async (request: FastifyRequest, id: string): Promise<DownloadStatus> => (await ownDownload(request, queue, redis, id)).status;

  app.get<{ Params: { id: string } }>('/v1/downloads/:id', async (request, reply) => reply.send(await ownStatus(request, request.params.id)));

  app.post<{ Params: { id: string } }>('/v1/downloads/:id/retry', async (request, reply) => {
    const status = await ownStatus(request, request.params.id);
    if (status.state !== 'failed') {
      throw new FerryError('FERRY_ERR_NOT_RETRYABLE_STATE', `download ${status.id} is ${status.state}; only a failed download can be retried`);
    }
    const job = await queue.getJob(status.id);
    if (job === undefined) throw new FerryError('FERRY_ERR_NOT_FOUND', `no download with id ${status.id}: it was removed by retention`);
    // Forgotten before the retry, so that the retried run's own end is the one recorded.
    if (status.batchId !== null) await batches.reopen(status.batchId, status.id);
    try {
      // A retry is a fresh start: the full number of attempts again.
      await job.retry('failed', { resetAttemptsMade: true, resetAttemptsStarted: true });
    } catch (err) {
      if (status.batchId !== null) await batches.recordOutcome(job, 'failed');
      throw err;
    }
    request.log.info({ jobId: status.id }, 'download retried');
    return reply.status(202).header('location', `/v1/downloads/${status.id}`).send({ id: status.id, state: 'queued', url: status.url });
  });

  app.get<{ Params: { id: string } }>('/v1/downloads/:id/content', async (request, reply) => {
    const status = await ownStatus(request, request.params.id);
    if (status.result === null) {
      throw new FerryError('FERRY_ERR_NOT_READY', `download ${status.id} is ${status.state}; its content is available once it is completed`);
    }
    const file = fileURLToPath(status.result.location);
    // Only files this API can serve from its own storage directory; a result from elsewhere is not followed.
    if (path.dirname(file) !== storageDir) throw new FerryError('FERRY_ERR_NOT_FOUND', `the file of download ${status.id} is not in this API's storage`);
    if (!existsSync(file)) throw new FerryError('FERRY_ERR_NOT_FOUND', `the file of download ${status.id} is no longer in storage`);
    void reply
      .header('content-type', status.result.contentType ?? 'application/octet-stream')
      .header('content-disposition', `attachment; filename*=UTF-8''${encodeURIComponent(status.result.filename)}`);
    // Range, If-Range, ETag and If-None-Match are @fastify/send's, as for any static file.
    return reply.sendFile(path.basename(file), storageDir, { contentType: false, cacheControl: false, dotfiles: 'allow' });
  });
};
