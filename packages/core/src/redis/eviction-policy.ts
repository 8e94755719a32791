import type { Redis } from 'ioredis';
import { FerryError } from '@ferry/contract';
import type { Logger } from '../logger.js';
import type { RedisClient } from './connections.js';
import { serversOf } from './servers.js';

async function readEvictionPolicy(redis: Redis): Promise<string | undefined> {
  try {
    const reply = (await redis.config('GET', 'maxmemory-policy')) as string[];
    return reply[1];
  } catch {
    // Managed Redis services often disable CONFIG; INFO still reports the policy.
    const info = await redis.info('memory');
    return /^maxmemory_policy:(\S+)/m.exec(info)?.[1];
  }
}

/**
 * A Redis that may evict keys can silently drop queued jobs and locks. Ferry
 * warns loudly, or refuses to start when configured to.
 */
export async function checkEvictionPolicy(redis: RedisClient, mode: 'warn' | 'refuse', logger: Logger): Promise<void> {
  // Every master of a cluster holds keys, so each must keep them; the first that may evict is reported.
  const policies = await Promise.all((await serversOf(redis)).map(readEvictionPolicy));
  if (policies.every((each) => each === 'noeviction')) return;
  const policy = policies.find((each) => each !== 'noeviction');
  const message =
    `Redis maxmemory-policy is ${policy ?? 'unknown'}, not noeviction: under memory pressure Redis will delete queued jobs and locks. ` +
    'Run `CONFIG SET maxmemory-policy noeviction` (and put it in redis.conf).';
  if (mode === 'refuse') {
    throw new FerryError('FERRY_ERR_CONFIG', `${message} Refusing to start because FERRY_REDIS_EVICTION_CHECK=refuse.`, {
      data: { policy },
    });
  }
  logger.warn({ policy }, `!!! ${message} Set FERRY_REDIS_EVICTION_CHECK=refuse to make this fatal.`);
}
