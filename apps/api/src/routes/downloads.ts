import type { Queue } from 'bullmq';
import type { FastifyPluginAsync, FastifyReply } from 'fastify';
import { DownloadRequest, ListQuery } from '@ferry/contract';
import { type Storage } from '@ferry/storage';
import {
  type BatchStore,
  type DownloadControl,
  type DownloadOutbox,
  type DownloadIndex,
  type HeaderSealer,
  type IdempotencyStore,
  type RedisClient,
  type ReplicaWait,
} from '@ferry/core';
import { acceptDownload, idempotencyKeyOf } from '../accept-download.js';
import { checkDownloadRequest, type RequestPolicy } from '../check-download-request.js';
import { downloadAnswer, type DownloadAnswer } from '../download-answer.js';
import { validationError } from '../errors.js';
import { listDownloads } from '../list-downloads.js';
import { openDownloadContent } from '../open-download-content.js';
import { loadOwnDownload, ownerOf } from '../owner.js';
import { resumeDownload } from '../resume-download.js';
import { retryDownload } from '../retry-download.js';
import { redirectToStoredFile } from '../redirect-to-stored-file.js';
import { serveStoredFile } from '../serve-stored-file.js';
import { recountMoved, stopDownload } from '../stop-download.js';

interface DownloadRoutesOptions {
  readonly queue: Queue;
  /** The queue's connection. */
  readonly redis: RedisClient;
  readonly policy: RequestPolicy;
  readonly index: DownloadIndex;
  readonly control: DownloadControl;
  /** Reports the end of a download cancelled here rather than by a worker (its callback, its batch count). */
  readonly outbox: DownloadOutbox;
  readonly idempotency: IdempotencyStore;
  /** A cancelled or retried batch member changes its batch's outcome. */
  readonly batches: BatchStore;
  /** Where completed files are, for the content route. */
  readonly storage: Storage;
  /** Set: the content route redirects to a presigned URL valid this many seconds instead of streaming (FERRY_S3_CONTENT=redirect). */
  readonly contentRedirectSeconds?: number | undefined;
  readonly sealer: HeaderSealer;
  readonly replicas: ReplicaWait;
}

type ById = { Params: { id: string } };

const send = (reply: FastifyReply, { status, body }: DownloadAnswer) => reply.status(status).header('location', `/v1/downloads/${body.id}`).send(body);

export const downloadRoutes: FastifyPluginAsync<DownloadRoutesOptions> = async (app, deps) => {
  const { queue, redis, policy, control, batches, storage, contentRedirectSeconds } = deps;

  app.post('/v1/downloads', async (request, reply) => {
    const parsed = DownloadRequest.safeParse(request.body);
    if (!parsed.success) throw validationError(parsed.error, Object.keys(DownloadRequest.shape));
    checkDownloadRequest(parsed.data, policy);
    const idempotencyKey = idempotencyKeyOf(request.headers['idempotency-key'], parsed.data);
    return send(reply, await acceptDownload(deps, ownerOf(request), parsed.data, idempotencyKey, request.log));
  });

  app.get('/v1/downloads', async (request, reply) => {
    const query = ListQuery.safeParse(request.query);
    if (!query.success) throw validationError(query.error, Object.keys(ListQuery.shape), 'list query');
    return reply.send(await listDownloads(deps, ownerOf(request), query.data));
  });

  app.get<ById>('/v1/downloads/:id', async (request, reply) => reply.send((await loadOwnDownload(request, queue, redis, request.params.id)).status));

  app.delete<ById>('/v1/downloads/:id', async (request, reply) =>
    send(reply, await stopDownload(deps, ownerOf(request), request.params.id, 'cancel', request.log)),
  );
  app.post<ById>('/v1/downloads/:id/pause', async (request, reply) =>
    send(reply, await stopDownload(deps, ownerOf(request), request.params.id, 'pause', request.log)),
  );

  app.post<ById>('/v1/downloads/:id/resume', async (request, reply) => {
    const loaded = await loadOwnDownload(request, queue, redis, request.params.id);
    const answer = await resumeDownload(control, loaded);
    await recountMoved(deps.outbox, loaded, 'queued', request.log);
    request.log.info({ jobId: answer.body.id }, 'download resumed');
    return send(reply, answer);
  });

  app.post<ById>('/v1/downloads/:id/retry', async (request, reply) => {
    const { status, job } = await loadOwnDownload(request, queue, redis, request.params.id);
    await retryDownload({ control, batches }, status, job);
    request.log.info({ jobId: status.id }, 'download retried');
    return send(reply, downloadAnswer(202, status, 'queued'));
  });

  app.get<ById>('/v1/downloads/:id/content', async (request, reply) => {
    const { reader, meta } = await openDownloadContent(storage, ownerOf(request), await loadOwnDownload(request, queue, redis, request.params.id));
    // Ferry's own web page may connect to its origin only (CSP connect-src 'self'), so it could not follow the redirect to the bucket.
    const fromOwnPage = request.headers['sec-fetch-site'] === 'same-origin';
    if (contentRedirectSeconds !== undefined && !fromOwnPage) return redirectToStoredFile(reply, reader, meta, contentRedirectSeconds);
    return serveStoredFile(request, reply, reader, meta);
  });
};
