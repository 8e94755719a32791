import { Queue, type BackoffStrategy, type DefaultJobOptions } from 'bullmq';
import type { RedisClient } from './redis/connections.js';
import { computeBackoffDelay, retryAfterOf, type BackoffPolicy } from './backoff.js';
import type { Config } from './config.js';

export const DOWNLOAD_QUEUE = 'downloads';
export const DOWNLOAD_JOB = 'download';

/** The backoff type name jobs carry; workers register `downloadBackoffStrategy` under it. */
const FERRY_BACKOFF = 'ferry-exponential-jitter';

function backoffPolicy(config: Config): BackoffPolicy {
  return {
    baseMs: config.retry.backoffBaseMs,
    maxMs: config.retry.backoffMaxMs,
    retryAfterMaxMs: config.retry.retryAfterMaxMs,
  };
}

/** How long finished jobs of every queue are kept: without limits they would fill Redis, which runs with noeviction and would then refuse new work. */
export function retentionJobOptions(config: Config): Pick<DefaultJobOptions, 'removeOnComplete' | 'removeOnFail'> {
  return {
    removeOnComplete: { age: config.retention.completed.age, count: config.retention.completed.count },
    removeOnFail: { age: config.retention.failed.age, count: config.retention.failed.count },
  };
}

function downloadJobOptions(config: Config): DefaultJobOptions {
  return { attempts: config.retry.attempts, backoff: { type: FERRY_BACKOFF }, ...retentionJobOptions(config) };
}

export function downloadBackoffStrategy(config: Config): BackoffStrategy {
  const policy = backoffPolicy(config);
  return (attemptsMade, _type, err) => computeBackoffDelay(attemptsMade, policy, retryAfterOf(err));
}

/** The producer side of the downloads queue, as the API and tools use it. */
export function createDownloadQueue(config: Config, connection: RedisClient): Queue {
  return new Queue(DOWNLOAD_QUEUE, { connection, prefix: config.queuePrefix, defaultJobOptions: downloadJobOptions(config) });
}
