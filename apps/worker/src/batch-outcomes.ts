import type { Worker } from 'bullmq';
import type { BatchStore, Logger } from '@ferry/core';
import { onAttemptEnded } from './attempt-ended.js';

/**
 * Tells a download's batch when it ended for good; the last one ends the batch
 * and queues its callback. A failed job that is gone already (retention) cannot
 * run again, so only a state that will run again is not an end.
 */
export function recordBatchOutcomes(downloads: Worker, batches: BatchStore, logger: Logger): void {
  onAttemptEnded(downloads, logger, "record the outcome in the download's batch", async (job, end, state) => {
    if (end === 'completed' || state === 'failed' || state === 'unknown') await batches.recordOutcome(job, end);
  });
}
