import { randomUUID } from 'node:crypto';
import type { Queue } from 'bullmq';
import type { FastifyPluginAsync, FastifyRequest } from 'fastify';
import {
  checkUrl,
  DOWNLOAD_JOB,
  downloadStateOf,
  DownloadRequest,
  FerryError,
  IDEMPOTENCY_KEY,
  requestFingerprint,
  timeoutCapIssues,
  toDownloadStatus,
  type Config,
  type DownloadJob,
  type EgressPolicy,
  type IdempotencyStore,
} from '@ferry/core';
import { invalidRequest, sendError, validationError } from '../errors.js';

export interface DownloadRoutesOptions {
  readonly queue: Queue;
  readonly http: Config['http'];
  /** Refuses URLs no worker may fetch at once, rather than as a failed job; workers check again, addresses included. */
  readonly egress: EgressPolicy;
  /** Whether FERRY_WEBHOOK_SECRETS is set: callbacks cannot be signed otherwise. */
  readonly callbacksEnabled: boolean;
  readonly idempotency: IdempotencyStore;
}

function ownerOf(request: FastifyRequest): string {
  if (request.apiKey === undefined) throw new Error('download routes must be registered behind requireApiKey');
  return request.apiKey.name;
}

export const downloadRoutes: FastifyPluginAsync<DownloadRoutesOptions> = async (app, { queue, http, egress, callbacksEnabled, idempotency }) => {
  app.post('/v1/downloads', async (request, reply) => {
    const parsed = DownloadRequest.safeParse(request.body);
    if (!parsed.success) return sendError(reply, validationError(parsed.error, Object.keys(DownloadRequest.shape)));
    const overCap = timeoutCapIssues(parsed.data.timeouts, http);
    if (overCap.length > 0) return sendError(reply, invalidRequest(overCap));
    checkUrl(new URL(parsed.data.url), egress, parsed.data.url);
    if (parsed.data.callbackUrl !== undefined) {
      if (!callbacksEnabled) {
        return sendError(reply, invalidRequest([{ path: 'callbackUrl', message: 'cannot be used: this server has no FERRY_WEBHOOK_SECRETS to sign callbacks with' }]));
      }
      checkUrl(new URL(parsed.data.callbackUrl), egress, parsed.data.callbackUrl);
    }
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
    const job: DownloadJob = { owner, request: parsed.data };
    try {
      await queue.add(DOWNLOAD_JOB, job, { jobId: id });
    } catch (err) {
      if (idempotencyKey !== undefined) await idempotency.release(owner, idempotencyKey).catch(() => undefined);
      throw err;
    }
    if (idempotencyKey !== undefined) await idempotency.markEnqueued(owner, idempotencyKey, { id, fingerprint, enqueued: true });
    request.log.info({ jobId: id, url: parsed.data.url, owner }, 'download enqueued');
    return reply
      .status(202)
      .header('location', `/v1/downloads/${id}`)
      .send({ id, state: 'queued', url: parsed.data.url });
  });

  app.get<{ Params: { id: string } }>('/v1/downloads/:id', async (request, reply) => {
    const { id } = request.params;
    // State first: a job read before its state could show "completed" without the result written in the same step.
    const state = await queue.getJobState(id);
    const job = await queue.getJob(id);
    // Another key's job answers exactly like a missing one: ids are not a way to probe what others download.
    const mine = job !== undefined && (job.data as Partial<DownloadJob>).owner === ownerOf(request);
    const status = mine ? toDownloadStatus(job, state) : undefined;
    if (status === undefined) {
      return sendError(reply, new FerryError('FERRY_ERR_NOT_FOUND', `no download with id ${id}: it never existed or was removed by retention`));
    }
    return reply.send(status);
  });
};
