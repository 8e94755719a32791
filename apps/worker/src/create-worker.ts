import type { Worker } from 'bullmq';
import { type StoredDownload } from '@ferry/engine';
import { DOWNLOAD_QUEUE, downloadBackoffStrategy, type DownloadMetrics, type RedisClient } from '@ferry/core';
import { DownloadWorker } from './download-worker.js';
import { lockWatch } from './lock-watch.js';
import { DownloadMeter } from './metrics/download-meter.js';
import { createProcessor, type ProcessorDeps } from './processor.js';

/** The processor's deps and the connection its worker runs on; every field is required. */
export interface DownloadWorkerDeps extends Omit<ProcessorDeps, 'observeProgress'> {
  /** The worker's own Redis connection (createWorkerRedis: commands wait through a Redis restart, as BullMQ workers require). */
  readonly connection: RedisClient;
  /** Where the worker counts its downloads' attempts, ends and bytes. */
  readonly metrics: DownloadMetrics;
}

export function createDownloadWorker(deps: DownloadWorkerDeps): Worker<unknown, StoredDownload> {
  const { config } = deps;
  const locks = lockWatch(config.worker.lockDurationMs, deps.logger);
  const meter = new DownloadMeter(deps.metrics);
  const processor = meter.wrap(createProcessor({ ...deps, observeProgress: (job, progress) => meter.progress(job, progress) }));
  // Three declared parameters: BullMQ passes the AbortSignal only to processors that accept it.
  const run: typeof processor = (job, token, signal) => processor(job, token, signal).finally(() => locks.forget(job.id));
  const worker = new DownloadWorker<StoredDownload>(DOWNLOAD_QUEUE, run, {
    connection: deps.connection,
    prefix: config.queuePrefix,
    concurrency: config.worker.concurrency,
    lockDuration: config.worker.lockDurationMs,
    stalledInterval: config.worker.stalledIntervalMs,
    maxStalledCount: config.worker.maxStalledCount,
    settings: { backoffStrategy: downloadBackoffStrategy(config) },
  });
  worker.on('error', (err) => deps.logger.error({ err }, 'worker error'));
  worker.on('stalled', (jobId) =>
    deps.logger.warn(
      { jobId },
      'job stalled: its worker stopped renewing the lock; it goes back to the queue, and fails with FERRY_ERR_STALLED if it stalled more than FERRY_WORKER_MAX_STALLED_COUNT times',
    ),
  );
  meter.observe(worker);
  locks.watch(worker);
  return worker;
}
