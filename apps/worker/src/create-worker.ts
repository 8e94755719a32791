import type { Worker } from 'bullmq';
import type { Redis } from 'ioredis';
import { type StoredDownload } from '@ferry/engine';
import { DOWNLOAD_QUEUE, downloadBackoffStrategy } from '@ferry/core';
import { DownloadWorker } from './download-worker.js';
import { watchLocks } from './lock-watch.js';
import { createProcessor, type ProcessorDeps } from './processor.js';

/** The processor's deps and the connection its worker runs on; every field is required. */
export interface DownloadWorkerDeps extends ProcessorDeps {
  /** The worker's own Redis connection (createWorkerRedis: commands wait through a Redis restart, as BullMQ workers require). */
  readonly connection: Redis;
}

export function createDownloadWorker(deps: DownloadWorkerDeps): Worker<unknown, StoredDownload> {
  const { config } = deps;
  const worker = new DownloadWorker<StoredDownload>(DOWNLOAD_QUEUE, createProcessor(deps), {
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
  watchLocks(worker, config.worker.lockDurationMs, deps.logger);
  return worker;
}
