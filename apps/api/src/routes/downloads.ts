import { randomUUID } from 'node:crypto';
import type { Queue } from 'bullmq';
import type { FastifyPluginAsync, FastifyRequest } from 'fastify';
import { checkUrl, DOWNLOAD_JOB, DownloadRequest, FerryError, timeoutCapIssues, toDownloadStatus, type Config, type DownloadJob, type EgressPolicy } from '@ferry/core';
import { invalidRequest, sendError, validationError } from '../errors.js';

export interface DownloadRoutesOptions {
  readonly queue: Queue;
  readonly http: Config['http'];
  /** Refuses URLs no worker may fetch at once, rather than as a failed job; workers check again, addresses included. */
  readonly egress: EgressPolicy;
  /** Whether FERRY_WEBHOOK_SECRETS is set: callbacks cannot be signed otherwise. */
  readonly callbacksEnabled: boolean;
}

function ownerOf(request: FastifyRequest): string {
  if (request.apiKey === undefined) throw new Error('download routes must be registered behind requireApiKey');
  return request.apiKey.name;
}

export const downloadRoutes: FastifyPluginAsync<DownloadRoutesOptions> = async (app, { queue, http, egress, callbacksEnabled }) => {
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
    const id = randomUUID();
    const job: DownloadJob = { owner: ownerOf(request), request: parsed.data };
    await queue.add(DOWNLOAD_JOB, job, { jobId: id });
    request.log.info({ jobId: id, url: parsed.data.url, owner: job.owner }, 'download enqueued');
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
