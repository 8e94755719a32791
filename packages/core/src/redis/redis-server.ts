import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdir } from 'node:fs/promises';
import net from 'node:net';
import { FerryError } from '../errors.js';

export interface RedisServerOptions {
  /** Where the AOF and dump live. Created if missing. */
  readonly dir: string;
  /** 0 picks a free port. */
  readonly port?: number;
  /** Persist with AOF (appendfsync everysec). Tests turn it off for speed. */
  readonly appendonly?: boolean;
  /** Executable to run; found on PATH by default. */
  readonly executable?: string;
}

export interface RedisServer {
  readonly url: string;
  readonly port: number;
  readonly pid: number;
  /** Stops the server (SHUTDOWN semantics via SIGTERM: the AOF is flushed). Safe to call twice. */
  stop(): Promise<void>;
}

export const REDIS_INSTALL_HINT =
  'redis-server was not found on PATH. Install Redis 7 or later (Debian/Ubuntu: `sudo apt-get install redis-server`; macOS: `brew install redis`), or point Ferry at a running Redis with REDIS_URL=redis://host:6379.';

export function findRedisServer(executable = 'redis-server'): boolean {
  return spawnSync(executable, ['--version'], { stdio: 'ignore' }).status === 0;
}

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.unref();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolve(port));
    });
  });
}

function waitForReady(child: ChildProcess, output: () => string): Promise<void> {
  return new Promise((resolve, reject) => {
    const onData = () => {
      if (/Ready to accept connections/i.test(output())) cleanup(resolve);
    };
    const onExit = (code: number | null) =>
      cleanup(() => reject(new Error(`redis-server exited with code ${code} before it was ready:\n${output()}`)));
    const timer = setTimeout(() => cleanup(() => reject(new Error(`redis-server did not start within 10 s:\n${output()}`))), 10_000);
    const cleanup = (then: () => void) => {
      clearTimeout(timer);
      child.stdout?.off('data', onData);
      child.off('exit', onExit);
      then();
    };
    child.stdout?.on('data', onData);
    child.once('exit', onExit);
  });
}

/**
 * Starts a private redis-server configured the way Ferry needs it: no eviction,
 * AOF with `appendfsync everysec`, bound to loopback only.
 */
export async function startRedisServer(options: RedisServerOptions): Promise<RedisServer> {
  const executable = options.executable ?? 'redis-server';
  if (!findRedisServer(executable)) throw new FerryError('FERRY_ERR_CONFIG', REDIS_INSTALL_HINT);
  await mkdir(options.dir, { recursive: true });
  const port = options.port || (await freePort());
  const appendonly = options.appendonly ?? true;
  const args = [
    '--port', String(port),
    '--bind', '127.0.0.1',
    '--dir', options.dir,
    '--maxmemory-policy', 'noeviction',
    '--appendonly', appendonly ? 'yes' : 'no',
    '--appendfsync', 'everysec',
    '--save', '',
    '--daemonize', 'no',
    '--protected-mode', 'yes',
  ];
  const child = spawn(executable, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  let log = '';
  const append = (chunk: Buffer) => {
    log = (log + chunk.toString()).slice(-16_384);
  };
  child.stdout.on('data', append);
  child.stderr.on('data', append);
  await waitForReady(child, () => log);

  const exited = new Promise<void>((resolve) => {
    if (child.exitCode !== null) resolve();
    else child.once('exit', () => resolve());
  });
  let stopping: Promise<void> | undefined;
  return {
    url: `redis://127.0.0.1:${port}`,
    port,
    pid: child.pid ?? -1,
    stop() {
      stopping ??= (async () => {
        child.kill('SIGTERM');
        const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
        await exited;
        clearTimeout(timer);
      })();
      return stopping;
    },
  };
}
