import type { Queue } from 'bullmq';
import type { Redis } from 'ioredis';
import Fastify, { type FastifyInstance } from 'fastify';
import rateLimit from '@fastify/rate-limit';
import { createCallbackQueue, DownloadControl, DownloadIndex, EgressPolicy, FerryError, IdempotencyStore, REDACTED_PATHS, type Config } from '@ferry/core';
import { requireApiKey } from './auth.js';
import { dashboard } from './dashboard.js';
import { errorHandler } from './errors.js';
import { openApiDocs } from './openapi/plugin.js';
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
    reply.status(404).send({ code: 'FERRY_ERR_NOT_FOUND', message: `no route ${request.method} ${request.url}; the API is described at /docs` }),
  );
  await app.register(healthRoutes, { redis: deps.redis });
  await app.register(openApiDocs);
  const callbacks = createCallbackQueue(config, deps.redis);
  callbacks.on('error', (err) => app.log.warn({ err: err.message }, 'callbacks queue error'));
  app.addHook('onClose', () => callbacks.close());
  await app.register(async (v1) => {
    v1.addHook('onRequest', requireApiKey(config.api.keys));
    await v1.register(rateLimit, {
      max: config.api.rateLimit.max,
      timeWindow: config.api.rateLimit.windowMs,
      // Counted in Redis, so the limit holds across API replicas.
      redis: deps.redis,
      nameSpace: `${config.queuePrefix}:rate-limit:`,
      keyGenerator: (request) => request.apiKey?.name ?? request.ip,
      // With Redis down the route itself answers 503; the limiter should not turn that into a 500.
      skipOnError: true,
      errorResponseBuilder: (_request, context) =>
        new FerryError(
          'FERRY_ERR_RATE_LIMITED',
          `this API key made more than ${context.max} requests in ${config.api.rateLimit.windowMs / 1000} s; retry in ${context.after} (see Retry-After)`,
        ),
    });
    await v1.register(downloadRoutes, {
      queue: deps.queue,
      redis: deps.redis,
      policy: { http: config.http, egress: new EgressPolicy(config.egress), callbacksEnabled: config.callbacks.secrets.length > 0 },
      index: new DownloadIndex(deps.redis, config.queuePrefix),
      control: new DownloadControl(deps.queue, deps.redis, config.queuePrefix),
      callbacks,
      idempotency: new IdempotencyStore(deps.redis, config.queuePrefix, config.api.idempotencyTtlSeconds),
      storageDir: config.storageDir,
    });
  });
  await app.register(dashboard, {
    queue: deps.queue,
    user: config.dashboard.user,
    password: deps.dashboardPassword,
    readOnly: config.dashboard.readOnly,
  });
  return app;
}
