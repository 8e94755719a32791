import type { Queue } from 'bullmq';
import Fastify, { type FastifyInstance } from 'fastify';
import rateLimit from '@fastify/rate-limit';
import { FerryError } from '@ferry/contract';
import { EgressPolicy } from '@ferry/engine';
import { createQueueServices, createWorkerRedis, ferryKey, IdempotencyStore, loggerOptions, type Config, type RedisClient } from '@ferry/core';
import { AuthFailureLimiter } from './auth-failures.js';
import { answerClientError } from './client-error.js';
import { trustProxyOption } from './trust-proxy.js';
import { requireApiKey } from './auth.js';
import { dashboard } from './dashboard.js';
import { errorHandler, sendError } from './errors.js';
import { JobEventHub } from './events/job-event-hub.js';
import { useJsonBodyParser } from './json-body.js';
import { openApiDocs } from './openapi/plugin.js';
import { batchRoutes } from './routes/batches.js';
import { downloadRoutes } from './routes/downloads.js';
import { eventRoutes } from './routes/events.js';
import { healthRoutes } from './routes/health.js';
import { metricsRoutes } from './routes/metrics.js';
import { webPage, webPageRoot } from './web-page.js';

/** What createServer is built from; every field is required (none has a default). */
export interface ServerDeps {
  /** The loaded configuration (loadConfig): limits, keys, egress policy, retention. */
  readonly config: Config;
  /** The downloads queue: jobs are added, read, retried and removed through it. */
  readonly queue: Queue;
  /** The producer connection the queue uses; /readyz pings it. */
  readonly redis: RedisClient;
  /** Bull Board's password. Required: the dashboard can delete and retry jobs. */
  readonly dashboardPassword: string;
}

declare module 'fastify' {
  interface FastifyInstance {
    /** The process's one QueueEvents reader, shared by every event stream. */
    readonly downloadEvents: JobEventHub;
  }
}

/** Builds the API without listening, so tests can `inject()` and `main.ts` alone binds a port. */
export async function createServer(deps: ServerDeps): Promise<FastifyInstance> {
  const { config } = deps;
  const app = Fastify({
    bodyLimit: config.api.bodyLimitBytes,
    logger: loggerOptions(config),
    // Job ids are UUIDs; anything longer is not ours.
    routerOptions: { maxParamLength: 200 },
    // request.ip: the connection's address unless the operator names the proxies in front (FERRY_API_TRUST_PROXY).
    trustProxy: trustProxyOption(config.api.trustProxy),
    // A path that does not decode (`/v1/downloads/%ZZ`) is answered like any other bad input, with a Ferry code.
    frameworkErrors: (error, request, reply) => void errorHandler(error, request, reply),
    // And so is a request Node's HTTP parser refuses before Fastify sees it (431 for headers too large).
    clientErrorHandler: answerClientError,
  });
  app.setErrorHandler(errorHandler);
  useJsonBodyParser(app);
  app.setNotFoundHandler((request, reply) =>
    sendError(reply, new FerryError('FERRY_ERR_NOT_FOUND', `no route ${request.method} ${request.url}; the API is described at /docs`)),
  );
  await app.register(healthRoutes, { redis: deps.redis });
  await app.register(openApiDocs);
  const { callbacks, batches, outbox, control, index, sealer, storage } = await createQueueServices(config, deps.redis, deps.queue);
  callbacks.on('error', (err) => app.log.warn({ err: err.message }, 'callbacks queue error'));
  app.addHook('onClose', () => callbacks.close());
  await app.register(metricsRoutes, { config, redis: deps.redis, queues: { downloads: deps.queue, callbacks } });
  const hub = new JobEventHub({
    queue: deps.queue,
    connect: () => createWorkerRedis(config.redis),
    redis: deps.redis,
    logger: app.log,
  });
  app.decorate('downloadEvents', hub);
  app.addHook('onClose', () => hub.close());
  const authFailures = new AuthFailureLimiter(config.api.authFailureLimit);
  await app.register(async (v1) => {
    v1.addHook('onRequest', requireApiKey(config.api.keys, authFailures));
    await v1.register(rateLimit, {
      max: config.api.rateLimit.max,
      timeWindow: config.api.rateLimit.windowMs,
      // Counted in Redis, so the limit holds across API replicas.
      redis: deps.redis,
      nameSpace: `${ferryKey(config.queuePrefix, 'rate-limit')}:`,
      keyGenerator: (request) => request.apiKey?.name ?? request.ip,
      // With Redis down the route itself answers 503; the limiter should not turn that into a 500.
      skipOnError: true,
      errorResponseBuilder: (_request, context) =>
        new FerryError(
          'FERRY_ERR_RATE_LIMITED',
          `this API key made more than ${context.max} requests in ${config.api.rateLimit.windowMs / 1000} s; retry in ${context.after} (see Retry-After)`,
        ),
    });
    const policy = {
      http: config.http,
      egress: new EgressPolicy(config.egress),
      callbacksEnabled: config.callbacks.secrets.length > 0,
      headersEnabled: sealer.enabled,
    };
    await v1.register(downloadRoutes, {
      queue: deps.queue,
      redis: deps.redis,
      policy,
      index,
      control,
      outbox,
      idempotency: new IdempotencyStore(deps.redis, config.queuePrefix, config.api.idempotencyTtlSeconds, deps.queue.toKey('')),
      batches,
      storage,
      contentRedirectSeconds: config.s3?.content.mode === 'redirect' ? config.s3.content.presignTtlSeconds : undefined,
      sealer,
      replicas: config.redis.waitReplicas,
    });
    await v1.register(batchRoutes, {
      queue: deps.queue,
      policy,
      index,
      batches,
      control,
      outbox,
      maxSize: config.api.batchMaxSize,
      bodyLimitBytes: config.api.batchBodyLimitBytes,
      sealer,
      redis: deps.redis,
      replicas: config.redis.waitReplicas,
    });
    await v1.register(eventRoutes, { queue: deps.queue, redis: deps.redis, batches, hub });
  });
  await app.register(dashboard, {
    queue: deps.queue,
    callbacks,
    redis: deps.redis,
    control,
    batches,
    user: config.dashboard.user,
    password: deps.dashboardPassword,
    readOnly: config.dashboard.readOnly,
    authFailures: new AuthFailureLimiter(config.api.authFailureLimit),
  });
  await app.register(webPage, { root: webPageRoot() });
  return app;
}
