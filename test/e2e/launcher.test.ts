import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import net from 'node:net';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { Redis } from 'ioredis';
import { isAlive } from '@ferry/launcher/is-alive';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sha256File } from '../support/files.js';
import { startTestRedis } from '../support/redis.js';
import { serveFile, TEST_EGRESS_ENV, TestOrigin } from '../support/origin.js';

const LAUNCHER = fileURLToPath(new URL('../../apps/launcher/dist/main.js', import.meta.url));

/** Launchers a failed test left running, killed with their process groups at the end. */
const running = new Set<ChildProcess>();

interface Launched {
  readonly child: ChildProcess;
  readonly output: () => string;
  readonly exited: Promise<number | null>;
}

/**
 * Runs what `npm start` runs after its build step (or `command`), in `cwd`, and waits for the banner.
 * Like a shell at a terminal, it gives the launcher a process group of its own, so that
 * `process.kill(-pid, 'SIGINT')` is what Ctrl-C sends.
 */
async function launch(cwd: string, env: Record<string, string | undefined>, command = [process.execPath, LAUNCHER]): Promise<Launched> {
  const childEnv = { ...process.env, REDIS_URL: undefined, FERRY_LOG_LEVEL: 'warn', FERRY_API_PORT: '0', ...TEST_EGRESS_ENV, ...env };
  const [executable = process.execPath, ...args] = command;
  const child = spawn(executable, args, { cwd, env: childEnv, stdio: ['ignore', 'pipe', 'pipe'], detached: true });
  let output = '';
  child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  running.add(child);
  void exited.then(() => running.delete(child));
  // `npm start` builds first, which takes a while on a loaded machine even when turbo has it cached.
  const deadline = Date.now() + 120_000;
  while (!output.includes('Ctrl-C stops Ferry') && child.exitCode === null && Date.now() < deadline) {
    await sleep(50);
  }
  return { child, output: () => output, exited };
}

function field(output: string, pattern: RegExp): string {
  const value = pattern.exec(output)?.[1];
  if (value === undefined) throw new Error(`${pattern} not found in:\n${output}`);
  return value;
}

interface Status {
  readonly state: string;
  readonly progress: { readonly receivedBytes: number };
}

/** Polls a download's status until `done` holds or `ms` pass, and returns the last one. */
async function statusOf(api: string, key: string, id: string, done: (status: Status) => boolean, ms: number): Promise<Status> {
  const deadline = Date.now() + ms;
  for (;;) {
    const status = (await (await fetch(`${api}/v1/downloads/${id}`, { headers: { authorization: `Bearer ${key}` } })).json()) as Status;
    if (done(status) || Date.now() > deadline) return status;
    await sleep(50);
  }
}

async function post(api: string, key: string, body: unknown): Promise<string> {
  const posted = await fetch(`${api}/v1/downloads`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${key}` },
    body: JSON.stringify(body),
  });
  expect(posted.status).toBe(202);
  return ((await posted.json()) as { id: string }).id;
}

async function redisPid(dir: string): Promise<number> {
  return Number((await readFile(path.join(dir, '.ferry', 'redis', 'ferry-redis.pid'), 'utf8')).trim());
}

let cwd: string;
let origin: TestOrigin;

beforeAll(async () => {
  cwd = await mkdtemp(path.join(os.tmpdir(), 'ferry-launcher-'));
  origin = await TestOrigin.start();
});

afterAll(async () => {
  for (const child of running) process.kill(-(child.pid ?? 0), 'SIGKILL');
  await origin?.close();
  await rm(cwd, { recursive: true, force: true });
});

describe('npm start without REDIS_URL', () => {
  it('runs API, worker and a private persistent redis-server, prints the URLs, and keeps jobs across restarts', async () => {
    const first = await launch(cwd, {});
    const banner = first.output();
    expect(banner).toContain('Ferry is running.');
    const api = field(banner, /API\s+(http:\/\/\S+)\/v1\/downloads/);
    const redisUrl = field(banner, /Redis\s+(redis:\/\/\S+) \(private redis-server/);
    const password = field(banner, /user admin, password (\S+)/);
    const key = field(banner, /key (fry_\S+)/);
    const auth = { authorization: `Bearer ${key}` };
    expect(banner).toContain(`${api}/admin/queues`);
    // The first URL a person sees is the web page.
    expect(/http:\/\/\S+/.exec(banner)?.[0]).toBe(`${api}/`);

    const redis = new Redis(redisUrl, { lazyConnect: true, maxRetriesPerRequest: 0 });
    await redis.connect();
    expect(await redis.config('GET', 'maxmemory-policy')).toEqual(['maxmemory-policy', 'noeviction']);
    expect(await redis.config('GET', 'appendonly')).toEqual(['appendonly', 'yes']);
    expect(await redis.config('GET', 'dir')).toEqual(['dir', path.join(cwd, '.ferry', 'redis')]);
    redis.disconnect();

    const file = await origin.randomFile('launched.bin', 300_000);
    const url = origin.route('/launched.bin', serveFile(file));
    const id = await post(api, key, { url });
    expect((await statusOf(api, key, id, (status) => status.state === 'completed', 10_000)).state).toBe('completed');
    expect(await sha256File(path.join(cwd, '.ferry', 'files', 'dev', 'launched.bin'))).toBe(file.sha256);
    const dashboard = await fetch(`${api}/admin/queues`, { headers: { authorization: `Basic ${Buffer.from(`admin:${password}`).toString('base64')}` } });
    expect(dashboard.status).toBe(200);

    first.child.kill('SIGINT');
    expect(await first.exited).toBe(0);
    const probe = new Redis(redisUrl, { lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null });
    probe.on('error', () => undefined);
    await expect(probe.connect()).rejects.toThrow();
    probe.disconnect();
    expect(existsSync(path.join(cwd, '.ferry', 'redis', 'appendonlydir'))).toBe(true);

    const second = await launch(cwd, {});
    try {
      expect(field(second.output(), /user admin, password (\S+)/)).toBe(password);
      expect(field(second.output(), /key (fry_\S+)/)).toBe(key);
      const api2 = field(second.output(), /API\s+(http:\/\/\S+)\/v1\/downloads/);
      const kept = (await (await fetch(`${api2}/v1/downloads/${id}`, { headers: auth })).json()) as { state: string; result: { sha256: string } };
      expect(kept.state).toBe('completed');
      expect(kept.result.sha256).toBe(file.sha256);
    } finally {
      second.child.kill('SIGINT');
      expect(await second.exited).toBe(0);
    }
  });
});

/** The two ways a launcher is stopped in the middle of a download: a terminal's Ctrl-C, and an outright kill. */
const STOPS = [
  { how: 'Ctrl-C at its terminal (SIGINT to its whole process group)', name: 'ctrl-c', stop: (pid: number) => process.kill(-pid, 'SIGINT'), code: 0 },
  { how: 'a SIGKILL of the launcher alone', name: 'sigkill', stop: (pid: number) => process.kill(pid, 'SIGKILL'), code: null },
] as const;

describe.each(STOPS)('npm start stopped by $how mid-download', ({ name, stop, code }) => {
  it('lets the worker drain against a live Redis, stops Redis last, and the next start resumes the download at once', async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), `ferry-launcher-${name}-`));
    try {
      // A short drain so the download is interrupted (and handed back) rather than finished; locks as long as the default,
      // so a job left `active` would wait for stalled-job detection far longer than the checks below allow.
      const env = { FERRY_SHUTDOWN_DEADLINE_MS: '2000', FERRY_WORKER_LOCK_DURATION_MS: '30000' };
      const first = await launch(dir, env);
      const api = field(first.output(), /API\s+(http:\/\/\S+)\/v1\/downloads/);
      const key = field(first.output(), /key (fry_\S+)/);
      const file = await origin.randomFile(`interrupted-${name}.bin`, 40 * 1024 * 1024);
      const route = `/interrupted-${name}.bin`;
      // Slow the first time, so the stop finds it mid-body; quick when resumed.
      const url = origin.route(route, serveFile(file, { etag: '"i1"', bytesPerSecond: 2 * 1024 * 1024 }), serveFile(file, { etag: '"i1"' }));
      const id = await post(api, key, { url });
      expect((await statusOf(api, key, id, (status) => status.progress.receivedBytes >= 1024 * 1024, 20_000)).progress.receivedBytes).toBeGreaterThanOrEqual(
        1024 * 1024,
      );
      const redis = await redisPid(dir);
      expect(isAlive(redis)).toBe(true);

      stop(first.child.pid ?? 0);
      expect(await first.exited).toBe(code);
      // Killed, the launcher cannot wait for anything: the services drain on their own, and Redis outlives them.
      const deadline = Date.now() + 20_000;
      while (isAlive(redis) && Date.now() < deadline) await sleep(50);
      expect(isAlive(redis)).toBe(false);
      expect(first.output()).not.toMatch(/ECONNREFUSED|Connection is closed/);

      const second = await launch(dir, env);
      try {
        const api2 = field(second.output(), /API\s+(http:\/\/\S+)\/v1\/downloads/);
        const final = await statusOf(api2, key, id, (status) => status.state === 'completed', 10_000);
        expect(final.state).toBe('completed');
        // The worker's last checkpoint reached Redis: the second request asked for the rest only.
        expect(Number(/^bytes=(\d+)-$/.exec(String(origin.requests(route)[1]?.headers.range))?.[1])).toBeGreaterThan(0);
        expect(await sha256File(path.join(dir, '.ferry', 'files', 'dev', `interrupted-${name}.bin`))).toBe(file.sha256);
      } finally {
        process.kill(-(second.child.pid ?? 0), 'SIGINT');
        expect(await second.exited).toBe(0);
      }
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});

/** How a supervisor, or a person with `kill`, stops the npm process alone; npm signals only the shell that runs the script, or nothing. */
const NPM_STOPS = [
  { signal: 'SIGTERM', what: 'npm passes it to the shell that runs the script, which dies of it' },
  { signal: 'SIGKILL', what: 'nothing else is signalled' },
] as const;

describe.each(NPM_STOPS)('npm start stopped by a $signal to the npm process alone (a supervisor, or `kill <its pid>`)', ({ signal, what }) => {
  it('stops the API and the worker, then its redis-server: nothing of Ferry outlives npm', async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'ferry-npm-start-'));
    const root = fileURLToPath(new URL('../../', import.meta.url));
    let npm: Launched | undefined;
    try {
      npm = await launch(root, { FERRY_DATA_DIR: dir, FERRY_STORAGE_DIR: path.join(dir, 'files') }, ['npm', 'start']);
      const api = field(npm.output(), /API\s+(http:\/\/\S+)\/v1\/downloads/);
      const redis = Number((await readFile(path.join(dir, 'redis', 'ferry-redis.pid'), 'utf8')).trim());
      expect(isAlive(redis)).toBe(true);

      process.kill(npm.child.pid ?? 0, signal);
      await npm.exited;
      // The launcher below gets no signal (${what}): it must notice npm has gone.
      const deadline = Date.now() + 30_000;
      while (isAlive(redis) && Date.now() < deadline) await sleep(100);
      expect(isAlive(redis), `${what}\n${npm.output()}`).toBe(false);
      await expect(fetch(`${api}/`)).rejects.toThrow();
    } finally {
      // The launcher stays in npm's process group after npm has gone: stop whatever a failure left there.
      const group = npm?.child.pid;
      try {
        if (group !== undefined) process.kill(-group, 'SIGTERM');
      } catch {
        // Nothing left, as it should be.
      }
      await rm(dir, { recursive: true, force: true });
    }
  }, 180_000);
});

describe('npm start run again in the same directory while Ferry runs there', () => {
  it('refuses, saying Ferry is already running, and leaves the running one and its redis-server alone', async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'ferry-launcher-twice-'));
    try {
      const first = await launch(dir, {});
      const api = field(first.output(), /API\s+(http:\/\/\S+)\/v1\/downloads/);
      const redis = await redisPid(dir);

      const second = await launch(dir, {});
      expect(await second.exited).toBe(1);
      expect(second.output()).toMatch(/Ferry is already running from this directory/);
      expect(second.output()).toContain('FERRY_DATA_DIR');
      expect(isAlive(redis)).toBe(true);
      expect((await fetch(`${api}/readyz`)).status).toBe(200);
      expect(first.output()).not.toMatch(/stopped unexpectedly|ECONNREFUSED/);

      first.child.kill('SIGINT');
      expect(await first.exited).toBe(0);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});

describe('npm start on a machine without redis-server', () => {
  it('says how to install it and exits non-zero', async () => {
    const emptyPath = await mkdtemp(path.join(os.tmpdir(), 'ferry-no-redis-'));
    const launched = await launch(cwd, { PATH: emptyPath });
    expect(await launched.exited).toBe(1);
    expect(launched.output()).toContain('redis-server was not found on PATH');
    expect(launched.output()).toContain('apt-get install redis-server');
    expect(launched.output()).toContain('REDIS_URL');
    await rm(emptyPath, { recursive: true, force: true });
  });
});

describe('npm start', () => {
  it('says what it is doing before the build, which takes about a minute the first time', async () => {
    const root = fileURLToPath(new URL('../../', import.meta.url));
    // An invalid setting makes the launcher stop right after the (cached) build.
    // One stream for both, as at a terminal, so the order shows.
    const run = spawnSync('sh', ['-c', 'npm start 2>&1'], { cwd: root, env: { ...process.env, FERRY_API_PORT: 'eighty' }, encoding: 'utf8', timeout: 120_000 });
    expect(run.status).toBe(1);
    const said = /^Building Ferry \(the first run takes about a minute\)…$/m.exec(run.stdout)?.index ?? -1;
    expect(said, run.stdout).toBeGreaterThan(-1);
    // turbo prints its banner only outside CI; the launcher's own output comes after the build either way.
    expect(run.stdout.indexOf('FERRY_API_PORT must be a whole number', said)).toBeGreaterThan(said);
  }, 150_000);
});

describe('npm start when the API cannot listen where it is told', () => {
  it('says the port is taken by another program and how to choose another, without a stack trace, and exits 1', async () => {
    const taken = net.createServer();
    await new Promise<void>((resolve) => taken.listen(0, '127.0.0.1', resolve));
    const { port } = taken.address() as net.AddressInfo;
    try {
      const launched = await launch(cwd, { FERRY_API_PORT: String(port), FERRY_DATA_DIR: path.join(cwd, 'port-taken') });
      expect(await launched.exited).toBe(1);
      expect(launched.output()).toContain(`127.0.0.1:${port} is already in use`);
      expect(launched.output()).toContain('set FERRY_API_PORT to a free port');
      expect(launched.output()).not.toMatch(/^\s+at /m);
    } finally {
      await new Promise((resolve) => taken.close(resolve));
    }
  });

  it('says so when FERRY_API_HOST is not an address of this machine', async () => {
    // 192.0.2.0/24 is TEST-NET-1: documentation only, never a local address.
    const launched = await launch(cwd, { FERRY_API_HOST: '192.0.2.1', FERRY_DATA_DIR: path.join(cwd, 'host-not-here') });
    expect(await launched.exited).toBe(1);
    expect(launched.output()).toContain('FERRY_API_HOST 192.0.2.1 is not an address of this machine');
    expect(launched.output()).not.toMatch(/^\s+at /m);
  });
});

describe('npm start with an invalid setting', () => {
  it('names the variable and says how to fix it', async () => {
    const launched = await launch(cwd, { FERRY_API_PORT: 'eighty' });
    expect(await launched.exited).toBe(1);
    expect(launched.output()).toMatch(/FERRY_API_PORT must be a whole number between 0 and 65535 \(got "eighty"\)/);
  });
});

describe('npm start with a password in REDIS_URL', () => {
  it('connects with it, and prints the URL without the password', async () => {
    const redis = await startTestRedis();
    const password = 'redis-password-never-printed';
    const admin = new Redis(redis.url);
    await admin.config('SET', 'requirepass', password);
    admin.disconnect();
    const url = new URL(redis.url);
    url.password = password;
    try {
      const launched = await launch(cwd, { REDIS_URL: url.href, FERRY_API_KEYS: '', FERRY_DATA_DIR: path.join(cwd, 'with-password') });
      const output = launched.output();
      expect(output).toContain('Ctrl-C stops Ferry');
      expect(output).toMatch(/Redis {6}redis:\/\/\[redacted\]@127\.0\.0\.1:\d+ \(from REDIS_URL\)/);
      expect(output).not.toContain(password);
      process.kill(-(launched.child.pid ?? 0), 'SIGINT');
      expect(await launched.exited).toBe(0);
      expect(launched.output()).not.toContain(password);
    } finally {
      await redis.stop();
    }
  });
});
