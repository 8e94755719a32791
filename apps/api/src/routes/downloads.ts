import { randomUUID } from 'node:crypto';
import type { Queue } from 'bullmq';
import type { FastifyPluginAsync } from 'fastify';
import { checkUrl, DOWNLOAD_JOB, DownloadRequest, FerryError, timeoutCapIssues, type Config, type EgressPolicy } from '@ferry/core';
import { toDownloadStatus } from '../download-status.js';
import { invalidRequest, sendError, validationError } from '../errors.js';

export interface DownloadRoutesOptions {
  readonly queue: Queue;
  readonly http: Config['http'];
  /** Refuses URLs no worker may fetch at once, rather than as a failed job; workers check again, addresses included. */
  readonly egress: EgressPolicy;
}

export const downloadRoutes: FastifyPluginAsync<DownloadRoutesOptions> = async (app, { queue, http, egress }) => {
  app.post('/v1/downloads', async (request, reply) => {
    const parsed = DownloadRequest.safeParse(request.body);
    if (!parsed.success) return sendError(reply, validationError(parsed.error, Object.keys(DownloadRequest.shape)));
    const overCap = timeoutCapIssues(parsed.data.timeouts, http);
    if (overCap.length > 0) return sendError(reply, invalidRequest(overCap));
    checkUrl(new URL(parsed.data.url), egress, parsed.data.url);
    const id = randomUUID();
    await queue.add(DOWNLOAD_JOB, parsed.data, { jobId: id });
    request.log.info({ jobId: id, url: parsed.data.url }, 'download enqueued');
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
    const status = job === undefined ? undefined : toDownloadStatus(job, state);
    if (status === undefined) {
      return sendError(reply, new FerryError('FERRY_ERR_NOT_FOUND', `no download with id ${id}: it never existed or was removed by retention`));
    }
    return reply.send(status);
  });
};
