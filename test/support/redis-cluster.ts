import { execFile } from 'node:child_process';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { promisify } from 'node:util';
import type { RedisServer } from '@ferry/launcher/redis-server';
import { withRedisGroup } from './redis-group.js';

const run = promisify(execFile);

export interface TestRedisCluster {
  /** The masters, each a redis-server with `cluster-enabled yes`. */
  readonly nodes: readonly RedisServer[];
  /** FERRY_REDIS_CLUSTER_NODES for them. */
  readonly nodesEnv: string;
  stop(): Promise<void>;
}

/** `redis-cli` against one node, its reply as text. */
export async function redisCli(port: number, ...args: string[]): Promise<string> {
  const { stdout } = await run('redis-cli', ['-h', '127.0.0.1', '-p', String(port), ...args]);
  return stdout.trim();
}

/**
 * A real Redis Cluster of `masters` redis-servers on free loopback ports, its
 * 16384 slots spread by `redis-cli --cluster create`, ready once every node says
 * `cluster_state:ok`.
 */
export async function startTestRedisCluster(masters = 3): Promise<TestRedisCluster> {
  return withRedisGroup('ferry-test-cluster-', async ({ dir, start, stop }) => {
    const nodes: RedisServer[] = [];
    for (let i = 0; i < masters; i += 1) {
      const nodeDir = path.join(dir, `node-${i}`);
      nodes.push(
        await start({
          dir: nodeDir,
          appendonly: false,
          extraArgs: ['--cluster-enabled', 'yes', '--cluster-config-file', path.join(nodeDir, 'nodes.conf'), '--cluster-node-timeout', '2000'],
        }),
      );
    }
    await run('redis-cli', ['--cluster', 'create', ...nodes.map((node) => `127.0.0.1:${node.port}`), '--cluster-replicas', '0', '--cluster-yes']);
    const deadline = Date.now() + 20_000;
    for (const node of nodes) {
      while (!(await redisCli(node.port, 'CLUSTER', 'INFO')).includes('cluster_state:ok')) {
        if (Date.now() > deadline) throw new Error(`the cluster did not reach cluster_state:ok:\n${await redisCli(node.port, 'CLUSTER', 'INFO')}`);
        await sleep(100);
      }
    }
    return { nodes, nodesEnv: nodes.map((node) => node.url).join(','), stop };
  });
}
