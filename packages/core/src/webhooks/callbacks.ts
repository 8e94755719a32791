import { Queue } from 'bullmq';
import type { RedisClient } from '../redis/connections.js';
import { z } from 'zod';
import type { Config } from '../config.js';
import { BatchSummary } from '@ferry/contract';
import { retentionJobOptions } from '../queues.js';
import { DownloadStatus } from '@ferry/contract';

export const CALLBACK_QUEUE = 'callbacks';
export const CALLBACK_JOB = 'callback';

/** The JSON body of a completion callback, in the Standard Webhooks shape: a download's status, or a batch's once all its downloads ended. */
const CallbackEvent = z.discriminatedUnion('type', [
  z.object({ type: z.enum(['download.completed', 'download.failed', 'download.cancelled']), timestamp: z.iso.datetime(), data: DownloadStatus }),
  z.object({ type: z.literal('batch.completed'), timestamp: z.iso.datetime(), data: BatchSummary }),
]);
type CallbackEvent = z.infer<typeof CallbackEvent>;
export type DownloadCallbackType = Extract<CallbackEvent, { data: DownloadStatus }>['type'];

/** A delivery waiting in the callbacks queue: the same body goes out on every attempt, signed for the API key that asked for it. */
export const CallbackJob = z.strictObject({
  url: z.url(),
  owner: z.string().min(1),
  event: CallbackEvent,
});
export type CallbackJob = z.infer<typeof CallbackJob>;

/** BullMQ's own exponential backoff with jitter is enough here: receivers send no Retry-After we honour. */
function callbackJobOptions(config: Config) {
  return {
    attempts: config.callbacks.attempts,
    backoff: { type: 'exponential', delay: config.callbacks.backoffBaseMs, jitter: 0.5 },
    ...retentionJobOptions(config),
  };
}

export function createCallbackQueue(config: Config, connection: RedisClient): Queue {
  return new Queue(CALLBACK_QUEUE, { connection, prefix: config.queuePrefix, defaultJobOptions: callbackJobOptions(config) });
}
