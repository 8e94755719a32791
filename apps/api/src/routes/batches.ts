import type { Queue } from 'bullmq';
import type { FastifyPluginAsync } from 'fastify';
import { BatchQuery } from '@ferry/contract';
import {
  type BatchStore,
  type DownloadOutbox,
  type DownloadControl,
  type DownloadIndex,
  type HeaderSealer,
  type RedisClient,
  type ReplicaWait,
} from '@ferry/core';
import { batchStatus, parseBatchCursor } from '../batch-status.js';
import { cancelBatch } from '../cancel-batch.js';
import { parseBatchRequest } from '../check-batch-request.js';
import { type RequestPolicy } from '../check-download-request.js';
import { createBatch } from '../create-batch.js';
import { validationError } from '../errors.js';
import { ownBatch, ownerOf } from '../owner.js';

interface BatchRoutesOptions {
  readonly queue: Queue;
  readonly policy: RequestPolicy;
  readonly index: DownloadIndex;
  readonly batches: BatchStore;
  readonly control: DownloadControl;
  /** Reports the end of a download cancelled here rather than by a worker (its callback, its batch count). */
  readonly outbox: DownloadOutbox;
  readonly maxSize: number;
  readonly bodyLimitBytes: number;
  readonly sealer: HeaderSealer;
  /** The queue's connection. */
  readonly redis: RedisClient;
  readonly replicas: ReplicaWait;
}

export const batchRoutes: FastifyPluginAsync<BatchRoutesOptions> = async (app, deps) => {
  const { policy, batches, maxSize, bodyLimitBytes } = deps;

  app.post('/v1/batches', { bodyLimit: bodyLimitBytes }, async (request, reply) => {
    const batch = parseBatchRequest(request.body, policy, maxSize);
    const owner = ownerOf(request);
    const accepted = await createBatch(deps, owner, batch);
    request.log.info({ batchId: accepted.id, size: accepted.size, owner }, 'batch enqueued');
    return reply.status(202).header('location', `/v1/batches/${accepted.id}`).send(accepted);
  });

  app.get<{ Params: { id: string } }>('/v1/batches/:id', async (request, reply) => {
    const query = BatchQuery.safeParse(request.query);
    if (!query.success) throw validationError(query.error, Object.keys(BatchQuery.shape), 'query');
    const batch = await ownBatch(request, batches, request.params.id);
    return reply.send(await batchStatus(batches, batch, parseBatchCursor(query.data.cursor, batch.size), query.data.limit));
  });

  app.delete<{ Params: { id: string } }>('/v1/batches/:id', async (request, reply) => {
    const status = await cancelBatch(deps, ownerOf(request), request.params.id, request.log);
    return reply.status(202).header('location', `/v1/batches/${status.id}`).send(status);
  });
};
