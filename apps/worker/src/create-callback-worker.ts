import { Worker } from 'bullmq';
import type { Redis } from 'ioredis';
import { CALLBACK_QUEUE, type Logger } from '@ferry/core';
import { createCallbackProcessor, type CallbackDeps, type CallbackDelivery } from './callback-processor.js';

// Deliveries are small and mostly waiting on receivers: more at once than downloads.
const CALLBACK_CONCURRENCY = 16;

export function createCallbackWorker(deps: CallbackDeps & { connection: Redis; logger: Logger }): Worker<unknown, CallbackDelivery> {
  const worker = new Worker<unknown, CallbackDelivery>(CALLBACK_QUEUE, createCallbackProcessor(deps), {
    connection: deps.connection,
    prefix: deps.config.queuePrefix,
    concurrency: CALLBACK_CONCURRENCY,
  });
  worker.on('error', (err) => deps.logger.error({ err }, 'callback worker error'));
  worker.on('failed', (job, err) => deps.logger.warn({ callbackId: job?.id, attempt: job?.attemptsMade, err: err.message }, 'callback delivery failed'));
  return worker;
}
