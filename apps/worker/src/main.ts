import { EgressPolicy, HttpAgents, WorkerProgress } from '@ferry/engine';
import {
  checkEvictionPolicy,
  checkRedisAccess,
  checkStorage,
  createDownloadQueue,
  createLogger,
  createQueueServices,
  createWorkerMetrics,
  createWorkerRedis,
  FleetLimits,
  installShutdown,
  listenForMetrics,
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
  const { callbacks, control, index, outbox, sealer, storage } = await createQueueServices(config, connection, queue);
  // Before taking any job: a directory or bucket this worker cannot use would fail every one.
  await checkStorage(storage, config.s3, config.storageDir);
  const controls = new WorkerControls(connection, control, config.queuePrefix, logger);
  const metrics = createWorkerMetrics(config.worker.concurrency);
  const limits = new FleetLimits(connection, config.queuePrefix, config.limits, config.worker.lockDurationMs, metrics.limiter);
  const worker = createDownloadWorker({ config, connection, storage, agents, logger, controls, outbox, sealer, limits, metrics: metrics.downloads });
  await controls.start(worker);
  reportEnds(worker, outbox, logger);
  const sweep = startOutboxSweep(outbox, config.worker.endingsSweepIntervalMs, logger);
  const callbackWorker = createCallbackWorker({ config, agents, connection, logger, metrics: metrics.callbacks });
  await Promise.all([worker.waitUntilReady(), callbackWorker.waitUntilReady()]);
  const janitor = startPartJanitor({
    storage,
    jobState: (jobId) => queue.getJobState(jobId),
    keptPart: async (jobId) => WorkerProgress.safeParse((await queue.getJob(jobId))?.progress).data?.checkpoint?.part,
    logger,
    intervalMs: config.worker.janitorIntervalMs,
    orphanAgeMs: config.worker.janitorOrphanAgeMs,
  });
  const pruner = startIndexPruner({
    index,
    jobKey: (id) => queue.toKey(id),
    redis: connection,
    prefix: config.queuePrefix,
    intervalMs: config.worker.janitorIntervalMs,
    logger,
  });
  const { workerPort, host, token } = config.metrics;
  const metricsListener =
    workerPort === undefined
      ? undefined
      : await listenForMetrics(metrics.registry, { host, port: workerPort, token, portVariable: 'FERRY_WORKER_METRICS_PORT' });
  const stored =
    config.s3 === undefined ? { storageDir: config.storageDir } : { bucket: config.s3.bucket, keyPrefix: config.s3.keyPrefix, endpoint: config.s3.endpoint };
  logger.info({ concurrency: config.worker.concurrency, ...stored, metrics: metricsListener?.address }, 'worker ready');
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
      { name: 'stop renewing fleet-limit slots', run: () => limits.stop() },
      [
        { name: 'close the download queue', run: () => queue.close() },
        { name: 'close the callback queue', run: () => callbacks.close() },
      ],
      { name: 'close the HTTP agents', run: () => agents.close() },
      { name: 'quit redis', run: () => connection.quit() },
      // Last, so the drain can still be scraped.
      { name: 'close the metrics listener', run: () => metricsListener?.close() },
    ],
    force: [
      { name: 'interrupt downloads', run: () => worker.cancelAllJobs(SHUTDOWN_REASON) },
      { name: 'interrupt callbacks', run: () => callbackWorker.cancelAllJobs(SHUTDOWN_REASON) },
      // If a processor ignores its signal, do not hang forever.
      { name: 'arm the exit timer', run: () => setTimeout(() => process.exit(1), 5000).unref() },
    ],
  });
});
