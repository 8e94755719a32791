import { LocalDiskStorage } from '@ferry/storage';
import { EgressPolicy, HttpAgents } from '@ferry/engine';
import {
  checkEvictionPolicy,
  createBatchStore,
  createCallbackQueue,
  createDownloadQueue,
  createLogger,
  createWorkerRedis,
  DownloadControl,
  DownloadEndings,
  DownloadIndex,
  HeaderSealer,
  installShutdown,
  loadConfig,
  runService,
} from '@ferry/core';
import { createCallbackWorker } from './create-callback-worker.js';
import { createDownloadWorker } from './create-worker.js';
import { startIndexPruner } from './index-pruner.js';
import { startPartJanitor } from './part-janitor.js';
import { SHUTDOWN_REASON } from './processor.js';
import { reportEndings, startEndingsSweep } from './report-endings.js';
import { WorkerControls } from './worker-controls.js';

runService('ferry-worker', async () => {
  const config = loadConfig();
  const logger = createLogger(config, 'ferry-worker');
  const connection = createWorkerRedis(config.redis.url);
  connection.on('error', (err) => logger.warn({ err: err.message }, 'redis connection error'));
  await checkEvictionPolicy(connection, config.redis.evictionCheck, logger);

  const agents = new HttpAgents(new EgressPolicy(config.egress));
  const storage = new LocalDiskStorage(config.storageDir);
  const queue = createDownloadQueue(config, connection);
  const controls = new WorkerControls(connection, new DownloadControl(queue, connection, config.queuePrefix), config.queuePrefix, logger);
  const callbacks = createCallbackQueue(config, connection);
  const batches = createBatchStore(config, { redis: connection, downloads: queue, callbacks });
  const endings = new DownloadEndings({ redis: connection, downloads: queue, callbacks, batches, prefix: config.queuePrefix });
  const worker = createDownloadWorker({ config, connection, storage, agents, logger, controls, endings, sealer: new HeaderSealer(config.headerKeys) });
  await controls.start(worker);
  reportEndings(worker, endings, logger);
  const sweep = startEndingsSweep(endings, config.worker.endingsSweepIntervalMs, logger);
  const callbackWorker = createCallbackWorker({ config, agents, connection, logger });
  await Promise.all([worker.waitUntilReady(), callbackWorker.waitUntilReady()]);
  const janitor = startPartJanitor({
    storage,
    jobState: (jobId) => queue.getJobState(jobId),
    logger,
    intervalMs: config.worker.janitorIntervalMs,
  });
  const pruner = startIndexPruner({
    index: new DownloadIndex(connection, config.queuePrefix),
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
      { name: 'stop the endings sweep', run: () => sweep.stop() },
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
