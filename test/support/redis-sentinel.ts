import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { freePort, type RedisServer } from '@ferry/launcher/redis-server';
import { redisCli } from './redis-cluster.js';
import { withRedisGroup } from './redis-group.js';

export const MASTER_NAME = 'ferry-master';

export interface SentinelSetup {
  /** The servers by role as started; `master` is replaced when restarted. */
  master: RedisServer;
  readonly replica: RedisServer;
  readonly sentinels: readonly RedisServer[];
  /** FERRY_REDIS_SENTINELS for them. */
  readonly sentinelsEnv: string;
  /** The port the sentinels now name as the master's. */
  masterPort(): Promise<number>;
  /** Starts the first master again, on its port and data; the sentinels make it a replica of the one they promoted. */
  restartFirstMaster(): Promise<RedisServer>;
  stop(): Promise<void>;
}

/** Fast enough for a test: a master silent for 1 s is down, and a failover may take 3 s. */
const sentinelConf = (masterPort: number) =>
  [
    `sentinel monitor ${MASTER_NAME} 127.0.0.1 ${masterPort} 2`,
    `sentinel down-after-milliseconds ${MASTER_NAME} 1000`,
    `sentinel failover-timeout ${MASTER_NAME} 3000`,
    `sentinel parallel-syncs ${MASTER_NAME} 1`,
    '',
  ].join('\n');

/**
 * A master with AOF, one replica of it and three redis-sentinels watching them
 * (quorum 2), all on free loopback ports; ready once every sentinel knows the replica.
 */
export async function startSentinelSetup(): Promise<SentinelSetup> {
  return withRedisGroup('ferry-test-sentinel-', async ({ dir, start, stop }) => {
    const masterDir = path.join(dir, 'master');
    const master = await start({ dir: masterDir, appendonly: true });
    const replica = await start({ dir: path.join(dir, 'replica'), appendonly: true, extraArgs: ['--replicaof', '127.0.0.1', String(master.port)] });
    const sentinels: RedisServer[] = [];
    for (let i = 0; i < 3; i += 1) {
      const configFile = path.join(dir, `sentinel-${i}.conf`);
      await writeFile(configFile, sentinelConf(master.port));
      sentinels.push(
        await start({
          dir: path.join(dir, `sentinel-${i}`),
          executable: 'redis-sentinel',
          configFile,
          port: await freePort(),
          appendonly: false,
        }),
      );
    }
    const deadline = Date.now() + 20_000;
    for (const sentinel of sentinels) {
      while (!(await redisCli(sentinel.port, 'SENTINEL', 'REPLICAS', MASTER_NAME)).includes(String(replica.port))) {
        if (Date.now() > deadline) throw new Error('the sentinels did not find the replica in 20 s');
        await sleep(100);
      }
    }
    const setup: SentinelSetup = {
      master,
      replica,
      sentinels,
      sentinelsEnv: sentinels.map((sentinel) => `127.0.0.1:${sentinel.port}`).join(','),
      async masterPort() {
        const [, port] = (await redisCli(sentinels[0]!.port, 'SENTINEL', 'GET-MASTER-ADDR-BY-NAME', MASTER_NAME)).split('\n');
        return Number(port);
      },
      async restartFirstMaster() {
        const again = await start({ dir: masterDir, port: master.port, appendonly: true });
        setup.master = again;
        return again;
      },
      stop,
    };
    return setup;
  });
}
