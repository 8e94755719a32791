import { EgressPolicy, HttpAgents } from '@ferry/engine';
import {
  checkEvictionPolicy,
  checkRedisAccess,
  createDownloadQueue,
  createLogger,
  createQueueServices,
  createWorkerRedis,
  installShutdown,
  loadConfig,
  runService,
} from '@ferry/core';
import { createCallbackWorker } from './create-callback-worker.js';
import { createDownloadWorker } from './create-worker.js';
import { startIndexPruner } from './index-pruner.js';
import { startPartJanitor } from './part-janitor.js';
import { SHUTDOWN_REASON } from './processor.js';
import { reportEnds, startOutboxSweep } from './report-ends.js';
import { WorkerControls } from './worker-controls.js';

runService('ferry-worker', async () => {
  const config = loadConfig();
  const logger = createLogger(config, 'ferry-worker');
  const connection = createWorkerRedis(config.redis);
  connection.on('error', (err) => logger.warn({ err: err.message }, 'redis connection error'));
  await checkRedisAccess(connection);
  await checkEvictionPolicy(connection, config.redis.evictionCheck, logger);

  const agents = new HttpAgents(new EgressPolicy(config.egress));
  const queue = createDownloadQueue(config, connection);
  const { callbacks, control, index, outbox, sealer, storage } = createQueueServices(config, connection, queue);
  const controls = new WorkerControls(connection, control, config.queuePrefix, logger);
  const worker = createDownloadWorker({ config, connection, storage, agents, logger, controls, outbox, sealer });
  await controls.start(worker);
  reportEnds(worker, outbox, logger);
  const sweep = startOutboxSweep(outbox, config.worker.endingsSweepIntervalMs, logger);
  const callbackWorker = createCallbackWorker({ config, agents, connection, logger });
  await Promise.all([worker.waitUntilReady(), callbackWorker.waitUntilReady()]);
  const janitor = startPartJanitor({
    storage,
    jobState: (jobId) => queue.getJobState(jobId),
    logger,
    intervalMs: config.worker.janitorIntervalMs,
  });
  const pruner = startIndexPruner({
    index,
    jobKey: (id) => queue.toKey(id),
    redis: connection,
    prefix: config.queuePrefix,
    intervalMs: config.worker.janitorIntervalMs,
    logger,
  });
  logger.info({ concurrency: config.worker.concurrency, storageDir: config.storageDir }, 'worker ready');
  process.send?.({ type: 'ready', service: 'worker' });

  installShutdown({
    logger,
    deadlineMs: config.worker.shutdownDeadlineMs,
    graceful: [
      { name: 'stop the janitor', run: () => janitor.stop() },
      { name: 'stop the outbox sweep', run: () => sweep.stop() },
      { name: 'stop the index pruner', run: () => pruner.stop() },
      [
        { name: 'close the download worker', run: () => worker.close() },
        { name: 'close the callback worker', run: () => callbackWorker.close() },
      ],
      { name: 'close the controls', run: () => controls.close() },
      [
        { name: 'close the download queue', run: () => queue.close() },
        { name: 'close the callback queue', run: () => callbacks.close() },
      ],
      { name: 'close the HTTP agents', run: () => agents.close() },
      { name: 'quit redis', run: () => connection.quit() },
    ],
    force: [
      { name: 'interrupt downloads', run: () => worker.cancelAllJobs(SHUTDOWN_REASON) },
      { name: 'interrupt callbacks', run: () => callbackWorker.cancelAllJobs(SHUTDOWN_REASON) },
      // If a processor ignores its signal, do not hang forever.
      { name: 'arm the exit timer', run: () => setTimeout(() => process.exit(1), 5000).unref() },
    ],
  });
});
