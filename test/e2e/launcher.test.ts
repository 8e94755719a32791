import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sha256File } from '../support/files.js';
import { serveFile, TEST_EGRESS_ENV, TestOrigin } from '../support/origin.js';

const LAUNCHER = fileURLToPath(new URL('../../apps/launcher/dist/main.js', import.meta.url));

interface Launched {
  readonly child: ChildProcess;
  readonly output: () => string;
  readonly exited: Promise<number | null>;
}

/** Runs what `npm start` runs after its build step, in `cwd`, and waits for the banner. */
async function launch(cwd: string, env: Record<string, string | undefined>): Promise<Launched> {
  const childEnv = { ...process.env, REDIS_URL: undefined, FERRY_LOG_LEVEL: 'warn', FERRY_API_PORT: '0', ...TEST_EGRESS_ENV, ...env };
  const child = spawn(process.execPath, [LAUNCHER], { cwd, env: childEnv, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  const deadline = Date.now() + 30_000;
  while (!output.includes('Ctrl-C stops Ferry') && child.exitCode === null && Date.now() < deadline) {
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  return { child, output: () => output, exited };
}

function field(output: string, pattern: RegExp): string {
  const value = pattern.exec(output)?.[1];
  if (value === undefined) throw new Error(`${pattern} not found in:\n${output}`);
  return value;
}

let cwd: string;
let origin: TestOrigin;

beforeAll(async () => {
  cwd = await mkdtemp(path.join(os.tmpdir(), 'ferry-launcher-'));
  origin = await TestOrigin.start();
});

afterAll(async () => {
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

    const redis = new Redis(redisUrl, { lazyConnect: true, maxRetriesPerRequest: 0 });
    await redis.connect();
    expect(await redis.config('GET', 'maxmemory-policy')).toEqual(['maxmemory-policy', 'noeviction']);
    expect(await redis.config('GET', 'appendonly')).toEqual(['appendonly', 'yes']);
    expect(await redis.config('GET', 'dir')).toEqual(['dir', path.join(cwd, '.ferry', 'redis')]);
    redis.disconnect();

    const file = await origin.randomFile('launched.bin', 300_000);
    const url = origin.route('/launched.bin', serveFile(file));
    const posted = await fetch(`${api}/v1/downloads`, { method: 'POST', headers: { 'content-type': 'application/json', ...auth }, body: JSON.stringify({ url }) });
    expect(posted.status).toBe(202);
    const { id } = (await posted.json()) as { id: string };
    let state = '';
    for (let i = 0; i < 200 && state !== 'completed'; i += 1) {
      state = ((await (await fetch(`${api}/v1/downloads/${id}`, { headers: auth })).json()) as { state: string }).state;
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    expect(state).toBe('completed');
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

describe('npm start with an invalid setting', () => {
  it('names the variable and says how to fix it', async () => {
    const launched = await launch(cwd, { FERRY_API_PORT: 'eighty' });
    expect(await launched.exited).toBe(1);
    expect(launched.output()).toMatch(/FERRY_API_PORT must be a whole number between 0 and 65535 \(got "eighty"\)/);
  });
});
