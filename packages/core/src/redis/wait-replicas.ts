import { FerryError } from '@ferry/contract';
import type { RedisClient } from './connections.js';

/** FERRY_REDIS_WAIT_REPLICAS and FERRY_REDIS_WAIT_TIMEOUT_MS. */
export interface ReplicaWait {
  readonly count: number;
  readonly timeoutMs: number;
}

/**
 * Waits until `wait.count` replicas hold every write `redis` made so far (Redis
 * WAIT). Replication is asynchronous: a master that dies right after answering
 * takes its last writes with it, and the replica promoted in its place never saw
 * them. Acknowledging only what a replica holds closes that window; when too few
 * confirm in time, the caller is told it was not acknowledged (503).
 */
export async function confirmReplicated(redis: RedisClient, wait: ReplicaWait, what: string): Promise<void> {
  if (wait.count === 0) return;
  const reached = await redis.wait(wait.count, wait.timeoutMs);
  if (reached < wait.count) {
    throw new FerryError(
      'FERRY_ERR_REDIS_UNAVAILABLE',
      `${what} reached the Redis master but only ${reached} of ${wait.count} replicas confirmed it within ${wait.timeoutMs} ms (FERRY_REDIS_WAIT_REPLICAS), so a failover could still lose it; it is not acknowledged. Retry with the same Idempotency-Key.`,
    );
  }
}
