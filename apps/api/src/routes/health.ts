import type { FastifyPluginAsync } from 'fastify';
import { FerryError } from '@ferry/contract';
import { sendError } from '../errors.js';
import type { RedisClient } from '@ferry/core';

interface HealthRoutesOptions {
  readonly redis: RedisClient;
}

const READY_TIMEOUT_MS = 1000;

export const healthRoutes: FastifyPluginAsync<HealthRoutesOptions> = async (app, { redis }) => {
  /** The process is up and serving HTTP; says nothing about Redis. */
  app.get('/healthz', async () => ({ status: 'ok' }));

  /** Ready to accept downloads: RedisClient answers. */
  app.get('/readyz', async (_request, reply) => {
    try {
      await Promise.race([redis.ping(), new Promise((_, reject) => setTimeout(() => reject(new Error('ping timed out')), READY_TIMEOUT_MS).unref())]);
      return { status: 'ready' };
    } catch (cause) {
      return sendError(reply, new FerryError('FERRY_ERR_REDIS_UNAVAILABLE', 'Redis is unreachable', { cause }));
    }
  });
};
