import type { Queue } from 'bullmq';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { FerryError } from '@ferry/contract';
import { DOWNLOAD_QUEUE, loadDownloadStatus, type RedisClient } from '@ferry/core';
import { retryDownload, retryFailedDownloads, type RetryDeps } from './retry-download.js';

// Bull Board's retry routes (@bull-board/api 9.10), below the dashboard's path.
const RETRY_ALL = '/api/queues/:queueName/retry/:queueStatus';
const RETRY_JOB = '/api/queues/:queueName/:jobId/retry';

type DashboardRetryDeps = RetryDeps & { readonly queue: Queue; readonly redis: RedisClient };

/**
 * Bull Board retries a job as BullMQ does: with the attempts it already spent,
 * its pause or cancel request still on it, its batch not told, completed jobs
 * too, and "Retry all" takes cancelled downloads with the failed ones. For the
 * downloads queue the dashboard's retries are the API's instead (see
 * retryDownload); the callbacks queue keeps Bull Board's, a redelivery.
 * Answers as Bull Board would: `{ retried, skipped }` for all, 204 for one;
 * undefined for requests it leaves to Bull Board. Throws FerryErrors for refusals.
 */
export async function retryDownloadsAsTheApiDoes(
  deps: DashboardRetryDeps,
  route: string,
  request: FastifyRequest,
  reply: FastifyReply,
): Promise<FastifyReply | undefined> {
  const params = request.params as Record<string, string | undefined>;
  if (request.method !== 'PUT' || params['queueName'] !== DOWNLOAD_QUEUE) return undefined;
  if (route === RETRY_ALL) {
    if (params['queueStatus'] !== 'failed') {
      throw new FerryError('FERRY_ERR_NOT_RETRYABLE_STATE', 'only failed downloads can be retried; to fetch a completed one again, enqueue it again');
    }
    return reply.send(await retryFailedDownloads(deps));
  }
  if (route !== RETRY_JOB) return undefined;
  const id = params['jobId'] ?? '';
  const loaded = await loadDownloadStatus(deps.queue, deps.redis, id);
  if (loaded === undefined) throw new FerryError('FERRY_ERR_NOT_FOUND', `no download ${id}`);
  await retryDownload(deps, loaded.status, loaded.job);
  return reply.status(204).send();
}
