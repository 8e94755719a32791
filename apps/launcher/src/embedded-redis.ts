import { readFile, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { FerryError } from '@ferry/contract';
import type { Logger } from '@ferry/core';
import { isAlive } from './is-alive.js';
import { parentPid } from './parent-pid.js';
import { startRedisServer, type RedisServer } from './redis-server.js';

const PID_FILE = 'ferry-redis.pid';

/** The launcher whose child `pid` is, when that can be told (Linux's /proc): its parent, if that runs this launcher's script. */
async function launcherOf(pid: number): Promise<number | undefined> {
  const parent = parentPid(pid);
  if (parent === undefined || parent === 1) return undefined;
  const cmdline = await readFile(`/proc/${parent}/cmdline`, 'utf8').catch(() => '');
  return cmdline.includes(path.join('launcher', 'dist', 'main.js')) ? parent : undefined;
}

/**
 * The server's guard stops it when its launcher dies, even by SIGKILL; should the
 * guard itself have been killed, the server is still running. Two servers appending
 * to one AOF would corrupt it, so the old one is stopped first (SIGTERM: it
 * flushes its AOF and exits) — unless its launcher is alive: that is a Ferry still
 * running from this directory, which a second `npm start` must not bring down.
 */
async function stopLeftover(dir: string, logger: Logger): Promise<void> {
  const pidFile = path.join(dir, PID_FILE);
  const pid = Number((await readFile(pidFile, 'utf8').catch(() => '')).trim());
  if (!Number.isInteger(pid) || pid <= 0 || !isAlive(pid)) return;
  const cmdline = await readFile(`/proc/${pid}/cmdline`, 'utf8').catch(() => '');
  if (cmdline !== '' && !cmdline.includes('redis-server')) return;
  const launcher = await launcherOf(pid);
  if (launcher !== undefined) {
    throw new FerryError(
      'FERRY_ERR_CONFIG',
      `Ferry is already running from this directory (launcher pid ${launcher}, its redis-server pid ${pid}, data in ${path.dirname(dir)}): ` +
        `use that one, stop it first (Ctrl-C where it runs, or kill ${launcher}), or set FERRY_DATA_DIR to a directory of its own to run a second Ferry`,
    );
  }
  logger.warn({ pid }, 'stopping a redis-server left running by an earlier npm start');
  process.kill(pid, 'SIGTERM');
  for (let waited = 0; waited < 10_000 && isAlive(pid); waited += 100) await sleep(100);
}

export async function startEmbeddedRedis(dataDir: string, logger: Logger): Promise<RedisServer> {
  const dir = path.join(dataDir, 'redis');
  await stopLeftover(dir, logger);
  const server = await startRedisServer({ dir, appendonly: true });
  const pidFile = path.join(dir, PID_FILE);
  await writeFile(pidFile, `${server.pid}\n`);
  return {
    ...server,
    async stop() {
      await server.stop();
      await rm(pidFile, { force: true });
    },
  };
}
