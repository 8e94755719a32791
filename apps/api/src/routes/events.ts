import type { Queue } from 'bullmq';
import type { FastifyPluginAsync } from 'fastify';
import { type BatchStore, type RedisClient } from '@ferry/core';
import { batchSnapshot, followBatch } from '../events/batch-events.js';
import { followDownload } from '../events/download-events.js';
import { EventStreams } from '../events/event-streams.js';
import type { JobEventHub } from '../events/job-event-hub.js';
import { loadOwnDownload, ownBatch } from '../owner.js';

interface EventRoutesOptions {
  readonly queue: Queue;
  /** The queue's connection. */
  readonly redis: RedisClient;
  readonly batches: BatchStore;
  readonly hub: JobEventHub;
}

export const eventRoutes: FastifyPluginAsync<EventRoutesOptions> = async (app, deps) => {
  const { queue, redis, batches, hub } = deps;
  const streams = new EventStreams(hub);
  app.addHook('preClose', async () => streams.endAll());

  app.get<{ Params: { id: string } }>('/v1/downloads/:id/events', async (request, reply) => {
    const { id } = request.params;
    await streams.open(reply, [id], async () => (await loadOwnDownload(request, queue, redis, id)).status, followDownload);
  });

  app.get<{ Params: { id: string } }>('/v1/batches/:id/events', async (request, reply) => {
    const batch = await ownBatch(request, batches, request.params.id);
    await streams.open(reply, await batches.memberIds(batch.id), () => batchSnapshot(deps, batch), followBatch(batches, request.log));
  });
};
