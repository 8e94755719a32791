// The enqueue path with the load generator in its own process: POST /v1/downloads on Ferry's API (its own
// process, `apps/api/dist/main.js`) beside a bare Fastify route that only calls queue.add (bench/bare-enqueue-route.mjs),
// both on one private redis-server, in alternating rounds; then GET /v1/batches/{id} for a small and a
// 10,000-member batch, and the API's peak RSS after it took single POSTs and 2,000-item batches.
// Usage (from the repo root, after `npm run build`):
//   node bench/enqueue-path.mjs [--count 5000] [--in-flight 64] [--runs 3] [--batches 10]
// Prints figures and ratios; exits non-zero only when a request failed. See bench/README.md.
import { spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Redis } from 'ioredis';
import { peakRssMB } from './peak-rss.mjs';
import { forkReady } from './fork-ready.mjs';
import { median } from './median.mjs';
import { commandCalls } from './redis-command-calls.mjs';
import { parseWholeOptions } from './whole-options.mjs';

const BENCH_DIR = path.dirname(fileURLToPath(import.meta.url));
const ROOT = path.join(BENCH_DIR, '..');
const { startRedisServer } = await import(path.join(ROOT, 'apps', 'launcher', 'dist', 'redis-server.js'));
const { hashApiKey } = await import(path.join(ROOT, 'packages', 'core', 'dist', 'index.js'));
const { API_NODE_FLAGS } = await import(path.join(ROOT, 'apps', 'api', 'dist', 'node-flags.js'));

const API_KEY = `fry_bench-${randomUUID()}`;
const STATUS_READS = 21;

function load(baseUrl, count, inFlight, urlPrefix) {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [path.join(BENCH_DIR, 'post-load-child.mjs'), baseUrl, API_KEY, String(count), String(inFlight), urlPrefix], {
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    let out = '';
    child.stdout.on('data', (chunk) => (out += chunk));
    child.once('exit', (code) => (code === 0 ? resolve(JSON.parse(out.trim()).seconds) : reject(new Error(`the load generator exited with ${code}`))));
  });
}

async function commandTotal(redis) {
  let total = 0;
  for (const calls of (await commandCalls(redis)).values()) total += calls;
  return total;
}

async function postBatch(apiUrl, size, tag) {
  const response = await fetch(`${apiUrl}/v1/batches`, {
    method: 'POST',
    headers: { authorization: `Bearer ${API_KEY}`, 'content-type': 'application/json' },
    body: JSON.stringify({ downloads: Array.from({ length: size }, (_, i) => ({ url: `https://downloads.example.com/${tag}/${i}.bin` })) }),
  });
  const body = await response.json();
  if (response.status !== 202) throw new Error(`POST /v1/batches answered ${response.status}: ${JSON.stringify(body).slice(0, 300)}`);
  return body.id;
}

async function batchReadMs(apiUrl, id) {
  const reads = [];
  for (let i = 0; i < STATUS_READS; i += 1) {
    const started = process.hrtime.bigint();
    const response = await fetch(`${apiUrl}/v1/batches/${id}`, { headers: { authorization: `Bearer ${API_KEY}` } });
    await response.json();
    reads.push(Number(process.hrtime.bigint() - started) / 1e6);
  }
  return median(reads);
}

async function main() {
  const options = parseWholeOptions('enqueue-path', { count: 5000, 'in-flight': 64, runs: 3, batches: 10 });
  const dir = await mkdtemp(path.join(os.tmpdir(), 'ferry-bench-enqueue-path-'));
  const cleanups = [() => rm(dir, { recursive: true, force: true })];
  try {
    const redisServer = await startRedisServer({ dir, appendonly: false });
    cleanups.push(() => redisServer.stop());
    const redis = new Redis(redisServer.url);
    cleanups.push(() => redis.quit());
    const env = {
      ...process.env,
      NODE_ENV: 'production',
      REDIS_URL: redisServer.url,
      FERRY_DATA_DIR: dir,
      FERRY_STORAGE_DIR: path.join(dir, 'files'),
      FERRY_API_KEYS: `bench:${hashApiKey(API_KEY)}`,
      FERRY_API_PORT: '0',
      FERRY_API_HOST: '127.0.0.1',
      FERRY_API_RATE_LIMIT: '1000000',
      FERRY_DASHBOARD_PASSWORD: 'bench-dashboard-password',
      FERRY_LOG_LEVEL: 'warn',
    };
    const api = await forkReady(path.join(ROOT, 'apps', 'api', 'dist', 'main.js'), [], env, [...API_NODE_FLAGS]);
    cleanups.push(api.stop);
    const bare = await forkReady(path.join(BENCH_DIR, 'bare-enqueue-route.mjs'), [redisServer.url], env);
    cleanups.push(bare.stop);
    const targets = {
      ferry: { label: 'Ferry POST /v1/downloads', url: api.ready.address },
      bare: { label: 'bare Fastify route, queue.add only', url: bare.ready.address },
    };
    const rates = { ferry: [], bare: [] };
    const commands = { ferry: [], bare: [] };
    console.log(
      `${options.count} POSTs per round, ${options.inFlight} in flight from a separate process; ${os.cpus().length} CPUs, load ${os.loadavg()[0].toFixed(1)}`,
    );
    // Warm both up (JIT, connections) before anything is counted.
    for (const name of ['ferry', 'bare'])
      await load(targets[name].url, Math.ceil(options.count / 5), options.inFlight, `https://downloads.example.com/warm-${name}/`);
    for (let round = 0; round < options.runs; round += 1) {
      const order = round % 2 === 0 ? ['ferry', 'bare'] : ['bare', 'ferry'];
      for (const name of order) {
        const before = await commandTotal(redis);
        const seconds = await load(targets[name].url, options.count, options.inFlight, `https://downloads.example.com/${name}/${round}/`);
        commands[name].push((await commandTotal(redis)) - before - 1);
        rates[name].push(options.count / seconds);
        console.log(`round ${round + 1}: ${targets[name].label}: ${(options.count / seconds).toFixed(0)} req/s`);
      }
    }

    // Batches of 2,000 while single POSTs keep coming: what the RSS target is about.
    const singles = load(api.ready.address, options.count, options.inFlight, 'https://downloads.example.com/rss/');
    for (let i = 0; i < options.batches; i += 1) await postBatch(api.ready.address, 2000, `rss-${i}`);
    await singles;
    const apiPeak = peakRssMB(api.child.pid);

    const small = await postBatch(api.ready.address, 100, 'small');
    const big = await postBatch(api.ready.address, 10_000, 'big');
    const smallMs = await batchReadMs(api.ready.address, small);
    const bigMs = await batchReadMs(api.ready.address, big);

    const ratio = median(rates.ferry) / median(rates.bare);
    console.log('');
    for (const name of ['ferry', 'bare']) {
      console.log(
        `${targets[name].label.padEnd(36)} ${median(rates[name]).toFixed(0).padStart(7)} req/s, ${(median(commands[name]) / options.count).toFixed(1)} Redis commands per request`,
      );
    }
    console.log(`target POST ÷ bare ≥ 0.5: ${ratio.toFixed(2)} (per round: ${rates.ferry.map((r, i) => (r / rates.bare[i]).toFixed(2)).join(', ')})`);
    console.log(`target GET /v1/batches/{id} ≤ 5 ms: 10,000 members ${bigMs.toFixed(1)} ms, 100 members ${smallMs.toFixed(1)} ms (medians of ${STATUS_READS})`);
    console.log(`target API peak RSS < 150 MB, after single POSTs and ${options.batches} batches of 2,000: ${apiPeak?.toFixed(1)} MB`);
  } finally {
    for (const step of cleanups.reverse()) await step().catch((err) => console.error(`enqueue-path: cleanup: ${err.message}`));
  }
  return 0;
}

process.exitCode = await main();
