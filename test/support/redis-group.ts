import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { startRedisServer, type RedisServer, type RedisServerOptions } from '@ferry/launcher/redis-server';

/** Redis servers started together in one temp dir, and stopped together. */
export interface RedisGroup {
  readonly dir: string;
  start(options: RedisServerOptions): Promise<RedisServer>;
  /** Stops every server `start` started (restarted ones too) and removes the dir. */
  stop(): Promise<void>;
}

/** Runs `setUp` on a new group; a setUp that throws part way stops what it had started, so no server outlives a failed test. */
export async function withRedisGroup<T>(prefix: string, setUp: (group: RedisGroup) => Promise<T>): Promise<T> {
  const dir = await mkdtemp(path.join(os.tmpdir(), prefix));
  const started: RedisServer[] = [];
  const group: RedisGroup = {
    dir,
    async start(options) {
      const server = await startRedisServer(options);
      started.push(server);
      return server;
    },
    async stop() {
      await Promise.all(started.map((server) => server.stop()));
      await rm(dir, { recursive: true, force: true });
    },
  };
  try {
    return await setUp(group);
  } catch (err) {
    await group.stop();
    throw err;
  }
}
