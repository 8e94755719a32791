import { FerryError } from '@ferry/contract';
import {
  checkEvictionPolicy,
  checkRedisAccess,
  createDownloadQueue,
  createLogger,
  createProducerRedis,
  installShutdown,
  loadConfig,
  runService,
} from '@ferry/core';
import { DASHBOARD_PATH } from './dashboard.js';
import { createServer } from './server.js';

runService('ferry-api', async () => {
  const config = loadConfig();
  const logger = createLogger(config, 'ferry-api');
  const dashboardPassword = config.dashboard.password;
  if (dashboardPassword === undefined) {
    throw new FerryError(
      'FERRY_ERR_CONFIG',
      'FERRY_DASHBOARD_PASSWORD is not set: the API will not serve the dashboard without credentials. Set it (12+ characters), or use `npm start`, which generates one.',
    );
  }

  if (config.api.keys.length === 0) {
    throw new FerryError(
      'FERRY_ERR_CONFIG',
      'FERRY_API_KEYS is not set: the API serves no one without keys. Make one with `npm run api-key -- <name>` and put the printed entry in FERRY_API_KEYS, or use `npm start`, which generates a development key.',
    );
  }

  const connection = createProducerRedis(config.redis);
  connection.on('error', (err) => logger.warn({ err: err.message }, 'redis connection error'));
  const queue = createDownloadQueue(config, connection);
  queue.on('error', (err) => logger.warn({ err: err.message }, 'queue error'));
  try {
    await checkRedisAccess(connection);
    await queue.waitUntilReady();
    await checkEvictionPolicy(connection, config.redis.evictionCheck, logger);
  } catch (err) {
    if (err instanceof FerryError) throw err;
    // The API still starts: /readyz reports the outage and POSTs answer 503 until Redis is back.
    logger.error({ err: (err as Error).message }, 'Redis is not reachable yet');
  }

  const app = await createServer({ config, queue, redis: connection, dashboardPassword });
  const where = `${config.api.host}:${config.api.port}`;
  const address = await app.listen({ host: config.api.host, port: config.api.port }).catch((err: NodeJS.ErrnoException) => {
    if (err.code === 'EADDRINUSE') {
      throw new FerryError(
        'FERRY_ERR_CONFIG',
        `${where} is already in use (another Ferry, or another program): stop it, or set FERRY_API_PORT to a free port (0 picks one)`,
      );
    }
    if (err.code === 'EADDRNOTAVAIL') {
      throw new FerryError(
        'FERRY_ERR_CONFIG',
        `FERRY_API_HOST ${config.api.host} is not an address of this machine: set it to one (127.0.0.1, or 0.0.0.0 for all)`,
      );
    }
    throw err;
  });
  logger.info({ address, dashboard: `${address}${DASHBOARD_PATH}` }, 'api listening');
  process.send?.({ type: 'ready', service: 'api', address });

  installShutdown({
    logger,
    deadlineMs: config.worker.shutdownDeadlineMs,
    graceful: [
      { name: 'close the server', run: () => app.close() },
      { name: 'close the queue', run: () => queue.close() },
      // Quitting a Redis that is already gone is no failure: there is nothing left to close.
      { name: 'quit redis', run: () => connection.quit().catch(() => undefined) },
    ],
    force: [
      { name: 'drop the redis connection', run: () => connection.disconnect() },
      { name: 'arm the exit timer', run: () => setTimeout(() => process.exit(1), 2000).unref() },
    ],
  });
});
