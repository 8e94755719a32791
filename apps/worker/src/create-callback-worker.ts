import { Worker } from 'bullmq';
import { CALLBACK_QUEUE, type CallbackMetrics, type Logger, type RedisClient } from '@ferry/core';
import { createCallbackProcessor, type CallbackDeps, type CallbackDelivery } from './callback-processor.js';
import { meterCallbacks } from './metrics/callback-meter.js';

// Deliveries are small and mostly waiting on receivers: more at once than downloads.
const CALLBACK_CONCURRENCY = 16;

/** The processor's deps, the connection its worker runs on and where it logs; every field is required. */
export interface CallbackWorkerDeps extends CallbackDeps {
  /** The worker's own Redis connection (createWorkerRedis). */
  readonly connection: RedisClient;
  /** Where worker errors and failed deliveries are logged. */
  readonly logger: Logger;
  /** Where deliveries are counted. */
  readonly metrics: CallbackMetrics;
}

export function createCallbackWorker(deps: CallbackWorkerDeps): Worker<unknown, CallbackDelivery> {
  const worker = new Worker<unknown, CallbackDelivery>(CALLBACK_QUEUE, createCallbackProcessor(deps), {
    connection: deps.connection,
    prefix: deps.config.queuePrefix,
    concurrency: CALLBACK_CONCURRENCY,
  });
  worker.on('error', (err) => deps.logger.error({ err }, 'callback worker error'));
  meterCallbacks(worker, deps.metrics);
  worker.on('failed', (job, err) => deps.logger.warn({ callbackId: job?.id, attempt: job?.attemptsMade, err: err.message }, 'callback delivery failed'));
  return worker;
}
