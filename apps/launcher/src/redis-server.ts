import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdir } from 'node:fs/promises';
import net from 'node:net';
import type { Writable } from 'node:stream';
import { FerryError } from '@ferry/contract';

export interface RedisServerOptions {
  /** Where the AOF and dump live. Created if missing. */
  readonly dir: string;
  /** 0 picks a free port. */
  readonly port?: number;
  /** Persist with AOF (appendfsync everysec). Tests turn it off for speed. */
  readonly appendonly?: boolean;
  /** Executable to run; found on PATH by default. */
  readonly executable?: string;
  /** A config file read first (a sentinel needs one it can rewrite). */
  readonly configFile?: string;
  /** More `--name value` settings, after Ferry's own (later ones win): cluster, TLS, ACL and replication setups in tests. */
  readonly extraArgs?: readonly string[];
}

export interface RedisServer {
  readonly url: string;
  readonly port: number;
  readonly pid: number;
  /** Stops the server (SHUTDOWN semantics via SIGTERM: the AOF is flushed). Safe to call twice. */
  stop(): Promise<void>;
  /** Resolves once the server has exited, whether stopped or not. */
  readonly exited: Promise<void>;
  /**
   * Our end of the guard's pipe: the server runs while any process holds it open.
   * Pass it (as an extra stdio entry) to the processes that use the server, so that if
   * ours dies they still drain against it, and it stops once the last of them is gone.
   */
  readonly lifeline: Writable;
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
      // A sentinel never says it is ready; it listens once it has its ID.
      if (/Ready to accept connections|Sentinel ID is/i.test(output())) cleanup(resolve);
    };
    const onExit = (code: number | null) => cleanup(() => reject(new Error(`redis-server exited with code ${code} before it was ready:\n${output()}`)));
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
 * Runs redis-server (`"$@"`) with a guard: a subshell that waits for end-of-file
 * on a pipe from our process (the shell's stdin, kept as fd 3), then sends the
 * server SIGTERM. The kernel closes that pipe however its holders end, SIGKILL
 * included, so the server never outlives them. `exec` makes the server's pid the
 * one we spawned.
 */
const GUARD = ['exec 3<&0', '(read -r _ <&3; kill -TERM $$) </dev/null >/dev/null 2>&1 &', 'exec "$@" </dev/null 3<&-'].join('\n');

/**
 * Starts a private redis-server configured the way Ferry needs it: no eviction,
 * AOF with `appendfsync everysec`, bound to loopback only. It runs in a session
 * of its own, so a terminal's Ctrl-C, sent to the whole foreground process group,
 * does not reach it: it is stopped by whoever started it, last.
 */
export async function startRedisServer(options: RedisServerOptions): Promise<RedisServer> {
  const executable = options.executable ?? 'redis-server';
  if (!findRedisServer(executable)) throw new FerryError('FERRY_ERR_CONFIG', REDIS_INSTALL_HINT);
  await mkdir(options.dir, { recursive: true });
  const port = options.port || (await freePort());
  const appendonly = options.appendonly ?? true;
  const args = [
    ...(options.configFile === undefined ? [] : [options.configFile]),
    '--port',
    String(port),
    '--bind',
    '127.0.0.1',
    '--dir',
    options.dir,
    '--maxmemory-policy',
    'noeviction',
    '--appendonly',
    appendonly ? 'yes' : 'no',
    '--appendfsync',
    'everysec',
    '--save',
    '',
    '--daemonize',
    'no',
    '--protected-mode',
    'yes',
    ...(options.extraArgs ?? []),
  ];
  const child = spawn('/bin/sh', ['-c', GUARD, 'ferry-redis-guard', executable, ...args], { stdio: ['pipe', 'pipe', 'pipe'], detached: true });
  child.stdin.on('error', () => undefined);
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  // A server that ended by itself (or never started) leaves its guard waiting: release it.
  void exited.then(() => child.stdin.destroy());
  let log = '';
  const append = (chunk: Buffer) => {
    log = (log + chunk.toString()).slice(-16_384);
  };
  child.stdout.on('data', append);
  child.stderr.on('data', append);
  await waitForReady(child, () => log);

  let stopping: Promise<void> | undefined;
  return {
    url: `redis://127.0.0.1:${port}`,
    port,
    pid: child.pid ?? -1,
    exited,
    lifeline: child.stdin,
    stop() {
      stopping ??= (async () => {
        // SIGTERM is SHUTDOWN for redis-server: it fsyncs the AOF, then exits.
        child.kill('SIGTERM');
        child.stdin.end();
        const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
        await exited;
        clearTimeout(timer);
      })();
      return stopping;
    },
  };
}
