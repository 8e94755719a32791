import type { Worker } from 'bullmq';
import type { CallbackMetrics } from '@ferry/core';

/** Counts each callback delivery attempt once, on the worker that made it, from the callback worker's events. */
export function meterCallbacks(worker: Worker, metrics: CallbackMetrics): void {
  worker.on('completed', () => metrics.record('delivered'));
  // `finishedOn` is set only when BullMQ gave up: the delivery will not be tried again.
  worker.on('failed', (job) => metrics.record(typeof job?.finishedOn === 'number' ? 'failed' : 'retried'));
}
