import { once } from 'node:events';
import { Cluster, type Redis } from 'ioredis';
import type { RedisClient } from './connections.js';

/**
 * The servers that hold the keys: the one server, or every master of a cluster
 * (known once the client has read the cluster's slots, so this waits for that),
 * for commands that read one server's whole state: SCAN, CONFIG GET.
 */
export async function serversOf(redis: RedisClient): Promise<Redis[]> {
  if (!(redis instanceof Cluster)) return [redis];
  if (redis.status !== 'ready') await once(redis, 'ready');
  return redis.nodes('master');
}
