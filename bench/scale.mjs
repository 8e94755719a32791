// How Ferry scales out: the same I/O-bound workload (an origin that serves each connection at a fixed
// speed, many files) with 1, 2 and 4 worker processes at the same per-process concurrency, in one run
// against one private redis-server. Prints throughput and its ratio to linear, the Redis commands each
// download cost (INFO commandstats) and the CPU each cost in the worker processes (/proc/<pid>/stat).
// Usage (from the repo root, after `npm run build`):
//   node bench/scale.mjs [--workers 1,2,4] [--concurrency 8] [--file-kib 256] [--kib-per-second 256] [--seconds 12] [--via post|batch]
// Prints figures only; exits non-zero only when a download did not complete. See bench/README.md.
import { fork } from 'node:child_process';
import { randomBytes, randomUUID } from 'node:crypto';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { commandCalls } from './redis-command-calls.mjs';

const BENCH_DIR = path.dirname(fileURLToPath(import.meta.url));
const ROOT = path.join(BENCH_DIR, '..');
const core = await import(path.join(ROOT, 'packages', 'core', 'dist', 'index.js'));
const { startRedisServer } = await import(path.join(ROOT, 'apps', 'launcher', 'dist', 'redis-server.js'));
const { createServer } = await import(path.join(ROOT, 'apps', 'api', 'dist', 'index.js'));
const { WORKER_NODE_FLAGS } = await import(path.join(ROOT, 'apps', 'worker', 'dist', 'node-flags.js'));
const WORKER_MAIN = path.join(ROOT, 'apps', 'worker', 'dist', 'main.js');

const API_KEY = `fry_bench-${randomUUID()}`;
// Kernel clock ticks per second, in which /proc/<pid>/stat counts CPU time (USER_HZ, 100 on Linux).
const CLOCK_TICKS = 100;

function parseOptions() {
  const { values } = parseArgs({
    options: {
      workers: { type: 'string', default: '1,2,4' },
      concurrency: { type: 'string', default: '8' },
      'file-kib': { type: 'string', default: '256' },
      'kib-per-second': { type: 'string', default: '256' },
      seconds: { type: 'string', default: '12' },
      via: { type: 'string', default: 'post' },
      help: { type: 'boolean', short: 'h', default: false },
    },
  });
  if (values.help) {
    console.log('usage: node bench/scale.mjs [--workers 1,2,4] [--concurrency 8] [--file-kib 256] [--kib-per-second 256] [--seconds 12] [--via post|batch]');
    process.exit(0);
  }
  if (values.via !== 'post' && values.via !== 'batch') {
    console.error(`scale: --via must be post (one POST /v1/downloads each) or batch (one POST /v1/batches), got ${values.via}`);
    process.exit(2);
  }
  const whole = (name, text) => {
    const value = Number(text);
    if (!Number.isInteger(value) || value < 1) {
      console.error(`scale: --${name} must be a whole number, at least 1 (got ${text})`);
      process.exit(2);
    }
    return value;
  };
  return {
    workers: values.workers.split(',').map((each) => whole('workers', each.trim())),
    concurrency: whole('concurrency', values.concurrency),
    fileBytes: whole('file-kib', values['file-kib']) * 1024,
    bytesPerSecond: whole('kib-per-second', values['kib-per-second']) * 1024,
    seconds: whole('seconds', values.seconds),
    via: values.via,
  };
}

/** An origin that sends every response at `bytesPerSecond`, whatever the path: the network is the limit, not the origin's CPU. */
async function startOrigin(body, bytesPerSecond) {
  const CHUNK = 16 * 1024;
  const server = http.createServer(async (req, res) => {
    res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': String(body.length) });
    const started = Date.now();
    for (let sent = 0; sent < body.length && !res.destroyed;) {
      const chunk = body.subarray(sent, sent + CHUNK);
      // Each chunk leaves when the speed allows every byte up to its end, so the last one arrives at size / speed.
      const due = started + ((sent + chunk.length) / bytesPerSecond) * 1000;
      if (due > Date.now()) await sleep(due - Date.now());
      if (!res.write(chunk)) await new Promise((resolve) => res.once('drain', resolve));
      sent += chunk.length;
    }
    res.end();
  });
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { server, port: server.address().port };
}

/** The CPU time redis-server has used, in milliseconds, from INFO cpu. */
async function redisCpuMs(redis) {
  const info = await redis.info('cpu');
  const field = (name) => Number(new RegExp(`^${name}:([\\d.]+)`, 'm').exec(info)?.[1] ?? 0);
  return (field('used_cpu_sys') + field('used_cpu_user')) * 1000;
}

const authorized = { authorization: `Bearer ${API_KEY}`, 'content-type': 'application/json' };

async function post(url, body) {
  const response = await fetch(url, { method: 'POST', headers: authorized, body: JSON.stringify(body) });
  if (response.status !== 202) throw new Error(`POST ${url} answered ${response.status}: ${await response.text()}`);
}

/** Enqueues the downloads as callers would: one POST each, 32 in flight, or one batch. */
async function enqueue(baseUrl, via, requests) {
  if (via === 'batch') return post(`${baseUrl}/v1/batches`, { downloads: requests });
  let next = 0;
  const lane = async () => {
    while (next < requests.length) await post(`${baseUrl}/v1/downloads`, requests[next++]);
  };
  await Promise.all(Array.from({ length: 32 }, lane));
}

/** User plus system CPU time of a process, in milliseconds. */
async function cpuMs(pid) {
  const stat = await readFile(`/proc/${pid}/stat`, 'utf8');
  // Fields after the command name, which is in parentheses and may hold spaces: utime is the 14th field, stime the 15th.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return ((Number(fields[11]) + Number(fields[12])) * 1000) / CLOCK_TICKS;
}

function startWorker(env) {
  const child = fork(WORKER_MAIN, [], { env: { ...process.env, ...env }, execArgv: [...WORKER_NODE_FLAGS], stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  const ready = new Promise((resolve, reject) => {
    child.on('message', (message) => message?.type === 'ready' && resolve());
    child.once('exit', (code) => reject(new Error(`a worker exited with ${code} before it was ready`)));
  });
  return { child, ready };
}

async function countFiles(dir) {
  const names = await readdir(dir).catch(() => []);
  return names.filter((name) => !name.startsWith('.')).length;
}

async function main() {
  const options = parseOptions();
  const dir = await mkdtemp(path.join(os.tmpdir(), 'ferry-bench-scale-'));
  const body = randomBytes(options.fileBytes);
  const origin = await startOrigin(body, options.bytesPerSecond);
  const redisServer = await startRedisServer({ dir: path.join(dir, 'redis'), appendonly: false });
  const storageDir = path.join(dir, 'files');
  const env = {
    NODE_ENV: 'test',
    REDIS_URL: redisServer.url,
    FERRY_DATA_DIR: dir,
    FERRY_STORAGE_DIR: storageDir,
    FERRY_API_KEYS: `bench:${core.hashApiKey(API_KEY)}`,
    FERRY_DASHBOARD_PASSWORD: 'bench-dashboard-password',
    FERRY_API_RATE_LIMIT: '1000000',
    FERRY_LOG_LEVEL: 'warn',
    FERRY_WORKER_CONCURRENCY: String(options.concurrency),
    FERRY_EGRESS_ALLOW_CIDRS: '127.0.0.1/32',
    FERRY_EGRESS_ALLOW_PORTS: String(origin.port),
  };
  const config = core.loadConfig(env);
  const redis = core.createProducerRedis(config.redis);
  const queue = core.createDownloadQueue(config, redis);
  await queue.waitUntilReady();
  const app = await createServer({ config, queue, redis, dashboardPassword: env.FERRY_DASHBOARD_PASSWORD });
  const baseUrl = await app.listen({ host: '127.0.0.1', port: 0 });
  const oneDownloadSeconds = options.fileBytes / options.bytesPerSecond;

  const rows = [];
  let failed = false;
  let workers = [];
  try {
    // A short untimed phase first: the API in this process and Redis warm up before the 1-worker figure, which every ratio divides by.
    const phases = [{ count: 1, warmUp: true }, ...options.workers.map((count) => ({ count, warmUp: false }))];
    for (const [phase, { count, warmUp }] of phases.entries()) {
      // Enough downloads to keep every slot busy for about --seconds at the ideal rate.
      const downloads = warmUp ? 2 * options.concurrency : Math.ceil((options.seconds * count * options.concurrency) / oneDownloadSeconds);
      workers = Array.from({ length: count }, () => startWorker(env));
      await Promise.all(workers.map((worker) => worker.ready));
      await redis.flushdb();
      await redis.config('RESETSTAT');
      const cpuBefore = await Promise.all(workers.map((worker) => cpuMs(worker.child.pid)));
      const redisBefore = await redisCpuMs(redis);
      const ownDir = path.join(storageDir, 'bench');
      await rm(ownDir, { recursive: true, force: true });

      const started = process.hrtime.bigint();
      const requests = Array.from({ length: downloads }, (_, i) => ({
        url: `http://127.0.0.1:${origin.port}/p${phase}/${i}.bin`,
        filename: `p${phase}-${i}.bin`,
      }));
      await enqueue(baseUrl, options.via, requests);
      // Counting published files asks nothing of Redis, so the command count is the downloads' alone.
      const deadline = Date.now() + 20 * options.seconds * 1000;
      let done = 0;
      while ((done = await countFiles(ownDir)) < downloads && Date.now() < deadline) await sleep(50);
      const seconds = Number(process.hrtime.bigint() - started) / 1e9;
      const byName = await commandCalls(redis);
      const redisCpu = (await redisCpuMs(redis)) - redisBefore;
      const commands = [...byName.values()].reduce((sum, calls) => sum + calls, 0);
      const cpuAfter = await Promise.all(workers.map((worker) => cpuMs(worker.child.pid)));
      if (done < downloads) {
        failed = true;
        console.error(`scale: with ${count} worker(s) only ${done} of ${downloads} downloads completed`);
      }
      const cpu = cpuAfter.reduce((sum, ms, i) => sum + ms - cpuBefore[i], 0);
      if (!warmUp)
        rows.push({
          count,
          downloads: done,
          seconds,
          rate: done / seconds,
          commands: commands / done,
          cpuMs: cpu / done,
          cpuShare: cpu / 1000 / seconds,
          redisCpuMs: redisCpu / done,
          byName,
        });
      console.log(`${warmUp ? 'warm-up, ' : ''}${count} worker(s): ${done} downloads in ${seconds.toFixed(1)} s`);

      for (const worker of workers) worker.child.kill('SIGTERM');
      await Promise.all(workers.map((worker) => new Promise((resolve) => (worker.child.exitCode === null ? worker.child.once('exit', resolve) : resolve()))));
      workers = [];
    }

    const perSlot = 1 / oneDownloadSeconds;
    const base = rows[0].rate / rows[0].count;
    console.log('');
    console.log(
      `enqueued by ${options.via === 'post' ? 'one POST /v1/downloads each' : 'one POST /v1/batches'}; ${options.concurrency} downloads at once per worker, ${options.fileBytes / 1024} KiB files at ${options.bytesPerSecond / 1024} KiB/s per connection ` +
        `(${oneDownloadSeconds.toFixed(2)} s each, so ${(perSlot * options.concurrency).toFixed(1)} downloads/s per worker at best); ${os.cpus().length} CPUs`,
    );
    console.log(
      `${'workers'.padEnd(8)} ${'downloads'.padStart(9)} ${'dl/s'.padStart(7)} ${'÷ linear'.padStart(9)} ${'÷ ideal'.padStart(8)} ${'cmds/dl'.padStart(8)} ${'CPU ms/dl'.padStart(10)} ${'worker CPUs busy'.padStart(17)} ${'Redis CPU ms/dl'.padStart(16)}`,
    );
    for (const row of rows) {
      console.log(
        `${String(row.count).padEnd(8)} ${String(row.downloads).padStart(9)} ${row.rate.toFixed(1).padStart(7)} ${(row.rate / (base * row.count)).toFixed(2).padStart(9)} ${(row.rate / (perSlot * options.concurrency * row.count)).toFixed(2).padStart(8)} ${row.commands.toFixed(1).padStart(8)} ${row.cpuMs.toFixed(1).padStart(10)} ${row.cpuShare.toFixed(2).padStart(17)} ${row.redisCpuMs.toFixed(2).padStart(16)}`,
      );
    }
    const last = rows.at(-1);
    const top = [...last.byName.entries()].sort((a, b) => b[1] - a[1]).slice(0, 10);
    console.log(
      `commands per download with ${last.count} worker(s), the most called: ${top.map(([name, calls]) => `${name} ${(calls / last.downloads).toFixed(1)}`).join(', ')}`,
    );
    console.log(
      `one Redis core at this cost: about ${Math.round(1000 / last.redisCpuMs)} downloads/s (1000 ms / Redis CPU ms per download); ` +
        `worker CPU: about ${Math.round(1000 / last.cpuMs)} downloads/s per core`,
    );
    console.log('÷ linear: throughput over (workers × the 1-worker throughput); ÷ ideal: over what the origin allows every slot.');
    console.log('cmds/dl: every command Redis ran in the phase (enqueue, run, retention, idle polling) per completed download.');
  } finally {
    for (const worker of workers) worker.child.kill('SIGKILL');
    await app.close();
    await queue.close();
    redis.disconnect();
    await redisServer.stop();
    origin.server.close();
    await rm(dir, { recursive: true, force: true });
  }
  process.exit(failed ? 1 : 0);
}

await main();
