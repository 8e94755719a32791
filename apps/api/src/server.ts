import type { Queue } from 'bullmq';
import type { Redis } from 'ioredis';
import Fastify, { type FastifyInstance } from 'fastify';
import { EgressPolicy, REDACTED_PATHS, type Config } from '@ferry/core';
import { dashboard } from './dashboard.js';
import { errorHandler } from './errors.js';
import { downloadRoutes } from './routes/downloads.js';
import { healthRoutes } from './routes/health.js';

export interface ServerDeps {
  readonly config: Config;
  readonly queue: Queue;
  /** The producer connection the queue uses; /readyz pings it. */
  readonly redis: Redis;
  /** Bull Board's password. Required: the dashboard can delete and retry jobs. */
  readonly dashboardPassword: string;
}

/** Builds the API without listening, so tests can `inject()` and `main.ts` alone binds a port. */
export async function createServer(deps: ServerDeps): Promise<FastifyInstance> {
  const { config } = deps;
  const app = Fastify({
    bodyLimit: config.api.bodyLimitBytes,
    logger: {
      level: config.log.level,
      redact: { paths: REDACTED_PATHS, censor: '[redacted]' },
      ...(config.log.format === 'pretty' ? { transport: { target: 'pino-pretty', options: { colorize: true, ignore: 'pid,hostname' } } } : {}),
    },
    // Job ids are UUIDs; anything longer is not ours.
    routerOptions: { maxParamLength: 200 },
  });
  app.setErrorHandler(errorHandler);
  app.setNotFoundHandler((request, reply) =>
    reply.status(404).send({ code: 'FERRY_ERR_NOT_FOUND', message: `no route ${request.method} ${request.url}; see the README for the API` }),
  );
  await app.register(healthRoutes, { redis: deps.redis });
  await app.register(downloadRoutes, { queue: deps.queue, http: config.http, egress: new EgressPolicy(config.egress) });
  await app.register(dashboard, { queue: deps.queue, user: config.dashboard.user, password: deps.dashboardPassword });
  return app;
}
