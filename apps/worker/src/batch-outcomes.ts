import type { Worker } from 'bullmq';
import type { BatchStore, Logger } from '@ferry/core';
import { onFinalOutcome } from './final-outcomes.js';

/** Tells a download's batch when it ended for good; the last one ends the batch and queues its callback. */
export function recordBatchOutcomes(downloads: Worker, batches: BatchStore, logger: Logger): void {
  onFinalOutcome(downloads, logger, "record the outcome in the download's batch", (job, outcome) => batches.recordOutcome(job, outcome));
}
