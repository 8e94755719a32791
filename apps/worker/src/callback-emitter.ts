import type { Queue, Worker } from 'bullmq';
import { queueDownloadCallback, type Logger } from '@ferry/core';
import { onAttemptEnded } from './attempt-ended.js';

/** Queues a download's callback when it ends for good; a failure that will be retried sends nothing yet. */
export function emitCallbacks(downloads: Worker, callbacks: Queue, logger: Logger): void {
  onAttemptEnded(downloads, logger, 'queue the completion callback', (job, _end, state) => queueDownloadCallback(callbacks, job, state));
}
