// How Ferry's fleet limits behave against an origin that answers 429 beyond its capacity: the
// real Lua slot scripts (FleetLimits) on a private redis-server, and a real HTTP origin that serves
// `--capacity` requests at once and refuses the rest with 429 (no Retry-After, so AIMD alone acts).
// In the same run, `--slots` worker slots download `--count` files three ways:
//   none   no limit: every slot sends, a refused download retries after 100 ms;
//   aimd   FERRY_HOST_CONCURRENCY=--slots with AIMD cutting it on each 429;
//   oracle FERRY_HOST_CONCURRENCY=--capacity, the limit an operator who knew the origin would set.
// Usage (from the repo root, after `npm run build`): node bench/host-backpressure.mjs [--count 400] [--capacity 4] [--slots 16]
// Prints figures only. See bench/README.md.
import { randomUUID } from 'node:crypto';
import http from 'node:http';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

const BENCH_DIR = path.dirname(fileURLToPath(import.meta.url));
const core = await import(path.join(BENCH_DIR, '..', 'packages', 'core', 'dist', 'index.js'));
const { startRedisServer } = await import(path.join(BENCH_DIR, '..', 'apps', 'launcher', 'dist', 'redis-server.js'));
const { Redis } = await import('ioredis');

const { values } = parseArgs({
  options: { count: { type: 'string', default: '400' }, capacity: { type: 'string', default: '4' }, slots: { type: 'string', default: '16' } },
});
const COUNT = Number(values.count);
const CAPACITY = Number(values.capacity);
const SLOTS = Number(values.slots);
const SERVE_MS = 50;
const RETRY_MS = 100;

/** The origin: at most CAPACITY requests at once, each answered after SERVE_MS; beyond that, 429 at once. */
function startOrigin() {
  const counts = { served: 0, refused: 0, now: 0 };
  const server = http.createServer(async (_req, res) => {
    if (counts.now >= CAPACITY) {
      counts.refused += 1;
      res.writeHead(429).end();
      return;
    }
    counts.now += 1;
    await sleep(SERVE_MS);
    counts.now -= 1;
    counts.served += 1;
    res.writeHead(200).end('ok');
  });
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve({ server, counts, url: `http://127.0.0.1:${server.address().port}/f` })));
}

const policy = (hostConcurrency) => ({
  hostConcurrency,
  hostOverrides: new Map(),
  hostRatePerSecond: 0,
  cooldownMaxMs: 0,
  keyConcurrency: 0,
  keyOverrides: new Map(),
  waitBaseMs: 20,
  waitMaxMs: 200,
});

async function run(name, redis, limits) {
  const origin = await startOrigin();
  const host = core.limitHost(origin.url);
  let next = 0;
  const pending = [];
  let done = 0;
  let waits = 0;
  const started = Date.now();
  const slot = async () => {
    while (done < COUNT) {
      const job = pending.shift() ?? (next < COUNT ? next++ : undefined);
      if (job === undefined) {
        await sleep(5);
        continue;
      }
      let admission;
      if (limits !== undefined) {
        admission = await limits.acquire(`${job}@${randomUUID()}`, `bench:job:${job}`, host, 'bench');
        if (!admission.admitted) {
          waits += 1;
          setTimeout(() => pending.push(job), admission.waitMs);
          continue;
        }
      }
      const response = await fetch(origin.url);
      await response.arrayBuffer();
      const ok = response.status === 200;
      if (admission !== undefined)
        await limits.release(admission, host, 'bench', ok ? { kind: 'completed' } : { kind: 'backpressure', status: 429, retryAfterMs: undefined });
      if (ok) done += 1;
      else setTimeout(() => pending.push(job), RETRY_MS);
    }
  };
  await Promise.all(Array.from({ length: SLOTS }, slot));
  const ms = Date.now() - started;
  const aimd = await redis.hget(`bench:limits:host-aimd:${host}`, 'limit');
  origin.server.close();
  return { name, ms, refused: origin.counts.refused, waits, finalLimit: aimd ?? '(none)' };
}

const dir = await mkdtemp(path.join(os.tmpdir(), 'ferry-bench-backpressure-'));
const redisServer = await startRedisServer({ dir, appendonly: false });
const redis = new Redis(redisServer.url);
try {
  const results = [];
  for (const [name, limit] of [
    ['none', undefined],
    ['aimd', SLOTS],
    ['oracle', CAPACITY],
  ]) {
    await redis.flushall();
    // Job hashes, as BullMQ's, where a refusal counts its waits (so each wait in a row doubles).
    const pipeline = redis.pipeline();
    for (let i = 0; i < COUNT; i += 1) pipeline.hset(`bench:job:${i}`, 'name', 'download');
    await pipeline.exec();
    const limits = limit === undefined ? undefined : new core.FleetLimits(redis, 'bench', policy(limit), 30_000);
    results.push(await run(name, redis, limits));
    limits?.stop();
  }
  const oracle = results.find((r) => r.name === 'oracle');
  console.log(`${COUNT} downloads of ${SERVE_MS} ms, origin capacity ${CAPACITY}, ${SLOTS} slots`);
  for (const r of results) {
    console.log(
      `${r.name.padEnd(7)} ${String(r.ms).padStart(6)} ms  ${(r.ms / oracle.ms).toFixed(2)}x the oracle's time  429s: ${String(r.refused).padStart(5)} (${(r.refused / COUNT).toFixed(2)} per download)  limit waits: ${r.waits}  host limit at the end: ${r.finalLimit}`,
    );
  }
} finally {
  redis.disconnect();
  await redisServer.stop();
  await rm(dir, { recursive: true, force: true });
}
