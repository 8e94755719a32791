import type { Queue } from 'bullmq';
import type { FastifyPluginAsync } from 'fastify';
import { FerryError } from '@ferry/contract';
import {
  createApiMetrics,
  listenForMetrics,
  METRICS_UNAUTHORIZED_MESSAGE,
  metricsAuthorized,
  type Config,
  type MetricsListener,
  type RedisClient,
} from '@ferry/core';
import { sendError } from '../errors.js';

interface MetricsRoutesOptions {
  readonly config: Config;
  /** The producer connection: the queues' depth is read through it once per scrape. */
  readonly redis: RedisClient;
  /** The queues whose depth is shown, by label. */
  readonly queues: { readonly downloads: Queue; readonly callbacks: Queue };
}

/**
 * The API's metrics, served where the operator chose: `GET /metrics` on the API port
 * only with FERRY_METRICS_TOKEN (the public port answers anyone on the network, and
 * the figures are the operator's business), and on FERRY_API_METRICS_PORT, a listener
 * of its own bound when the app is ready and closed with it.
 */
export const metricsRoutes: FastifyPluginAsync<MetricsRoutesOptions> = async (app, { config, redis, queues }) => {
  const metrics = createApiMetrics(redis, queues);
  app.addHook('onClose', () => metrics.close());
  const { token, host, apiPort } = config.metrics;
  if (apiPort !== undefined) {
    let listener: MetricsListener | undefined;
    app.addHook('onReady', async () => {
      listener = await listenForMetrics(metrics.registry, { host, port: apiPort, token, portVariable: 'FERRY_API_METRICS_PORT' });
      app.log.info({ address: listener.address }, 'metrics listening');
    });
    app.addHook('onClose', () => listener?.close());
  }

  app.get('/metrics', async (request, reply) => {
    if (token === undefined) {
      const elsewhere = apiPort === undefined ? '' : ` (they are served on FERRY_API_METRICS_PORT)`;
      return sendError(reply, new FerryError('FERRY_ERR_NOT_FOUND', `metrics are not served on the API port without FERRY_METRICS_TOKEN${elsewhere}`));
    }
    if (!metricsAuthorized(token, request.headers.authorization)) {
      void reply.header('www-authenticate', 'Bearer realm="Ferry metrics"');
      return sendError(reply, new FerryError('FERRY_ERR_UNAUTHORIZED', METRICS_UNAUTHORIZED_MESSAGE));
    }
    return reply.type(metrics.registry.contentType).send(await metrics.registry.metrics());
  });
};
