import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { startRedisServer, type RedisServer } from '@ferry/launcher/redis-server';

/** A private redis-server on a free port in a temp dir: never the machine's shared 6379. */
export async function startTestRedis(): Promise<RedisServer> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'ferry-test-redis-'));
  const server = await startRedisServer({ dir, appendonly: false });
  return {
    ...server,
    async stop() {
      await server.stop();
      await rm(dir, { recursive: true, force: true });
    },
  };
}
