import type { RedisClient } from './connections.js';
import { serversOf } from './servers.js';

/**
 * The keys matching `pattern`, a page at a time. SCAN walks one server's keys: on a
 * cluster it is sent to every master, since a cluster client would send it to one
 * node of its choosing and miss the keys of the others.
 */
export async function* scanKeys(redis: RedisClient, pattern: string, count = 100): AsyncGenerator<string[]> {
  for (const node of await serversOf(redis)) {
    let cursor = '0';
    do {
      const [next, keys] = await node.scan(cursor, 'MATCH', pattern, 'COUNT', count);
      cursor = next;
      if (keys.length > 0) yield keys;
    } while (cursor !== '0');
  }
}
