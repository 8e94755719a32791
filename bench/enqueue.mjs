// How fast downloads get into the queue: Ferry's batch endpoint, and the typed client (batches,
// and one POST per download), beside raw BullMQ addBulk, in the same run against the same private redis-server.
// Usage (from the repo root, after `npm run build`):
//   node bench/enqueue.mjs [--count 20000] [--runs 1] [--in-flight 64]
// Prints figures only; exits non-zero only when a path did not enqueue every download. See bench/README.md.
import { randomUUID } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseWholeOptions } from './whole-options.mjs';
import { median } from './median.mjs';

const BENCH_DIR = path.dirname(fileURLToPath(import.meta.url));
const core = await import(path.join(BENCH_DIR, '..', 'packages', 'core', 'dist', 'index.js'));
const { startRedisServer } = await import(path.join(BENCH_DIR, '..', 'apps', 'launcher', 'dist', 'redis-server.js'));
const { createServer } = await import(path.join(BENCH_DIR, '..', 'apps', 'api', 'dist', 'index.js'));
const { FerryClient } = await import(path.join(BENCH_DIR, '..', 'packages', 'client', 'dist', 'index.js'));

const API_KEY = `fry_bench-${randomUUID()}`;
const STATUS_READS = 5;

/** The requests every path enqueues: URLs on a public name no worker will fetch (none runs). */
const requestFor = (run, i) => ({ url: `https://downloads.example.com/bench/${run}/${i}.bin` });

async function postJson(url, body) {
  const response = await fetch(url, {
    method: 'POST',
    headers: { authorization: `Bearer ${API_KEY}`, 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  const json = await response.json();
  if (response.status !== 202) throw new Error(`POST ${url} answered ${response.status}: ${JSON.stringify(json).slice(0, 500)}`);
  return json;
}

async function main() {
  const options = parseWholeOptions('enqueue', { count: 20000, runs: 1, 'in-flight': 64 });
  const dir = await mkdtemp(path.join(os.tmpdir(), 'ferry-bench-enqueue-'));
  const redisServer = await startRedisServer({ dir, appendonly: false });
  const config = core.loadConfig({
    REDIS_URL: redisServer.url,
    FERRY_DATA_DIR: dir,
    FERRY_STORAGE_DIR: path.join(dir, 'files'),
    FERRY_API_KEYS: `bench:${core.hashApiKey(API_KEY)}`,
    FERRY_DASHBOARD_PASSWORD: 'bench-dashboard-password',
    FERRY_API_RATE_LIMIT: '1000000',
    FERRY_LOG_LEVEL: 'warn',
  });
  const redis = core.createProducerRedis(config.redis);
  const queue = core.createDownloadQueue(config, redis);
  await queue.waitUntilReady();
  const app = await createServer({ config, queue, redis, dashboardPassword: 'bench-dashboard-password' });
  const baseUrl = await app.listen({ host: '127.0.0.1', port: 0 });
  // What a backend service would use.
  const client = new FerryClient({ baseUrl, apiKey: API_KEY });
  const batchSize = config.api.batchMaxSize;

  const paths = [
    {
      name: `BullMQ addBulk, ${Math.min(batchSize, options.count)} per call`,
      async run(run) {
        for (let from = 0; from < options.count; from += batchSize) {
          const size = Math.min(batchSize, options.count - from);
          await queue.addBulk(
            Array.from({ length: size }, (_, i) => ({
              name: core.DOWNLOAD_JOB,
              data: { owner: 'bench', request: requestFor(run, from + i) },
              opts: { jobId: randomUUID() },
            })),
          );
        }
      },
    },
    {
      name: `POST /v1/batches, ${Math.min(batchSize, options.count)} per batch`,
      async run(run) {
        for (let from = 0; from < options.count; from += batchSize) {
          const size = Math.min(batchSize, options.count - from);
          await postJson(`${baseUrl}/v1/batches`, { downloads: Array.from({ length: size }, (_, i) => requestFor(run, from + i)) });
        }
      },
    },
    {
      name: `client.enqueueBatch, ${Math.min(batchSize, options.count)} per batch`,
      async run(run) {
        for (let from = 0; from < options.count; from += batchSize) {
          const size = Math.min(batchSize, options.count - from);
          await client.enqueueBatch({ downloads: Array.from({ length: size }, (_, i) => requestFor(run, from + i)) });
        }
      },
    },
    {
      name: `client.enqueue, ${options.inFlight} in flight`,
      async run(run) {
        let next = 0;
        const lane = async () => {
          while (next < options.count) await client.enqueue(requestFor(run, next++));
        };
        await Promise.all(Array.from({ length: Math.min(options.inFlight, options.count) }, lane));
      },
    },
  ];

  const rates = paths.map(() => []);
  let failed = false;
  try {
    for (let run = 0; run < options.runs; run += 1) {
      for (const [p, benchPath] of paths.entries()) {
        // Each path starts from an empty Redis, so none pays for another's jobs.
        await redis.flushdb();
        const started = process.hrtime.bigint();
        await benchPath.run(run);
        const seconds = Number(process.hrtime.bigint() - started) / 1e9;
        const counts = await queue.getJobCounts('wait', 'prioritized', 'delayed');
        const enqueued = Object.values(counts).reduce((a, b) => a + b, 0);
        if (enqueued !== options.count) {
          failed = true;
          console.error(`enqueue: ${benchPath.name} left ${enqueued} jobs in the queue, not ${options.count}`);
        }
        rates[p].push(options.count / seconds);
        console.log(`run ${run + 1}: ${benchPath.name}: ${options.count} in ${seconds.toFixed(2)} s`);
      }
    }

    // The read a batch's owner makes: counts from every member's live job.
    await redis.flushdb();
    const size = Math.min(batchSize, options.count);
    const batch = await postJson(`${baseUrl}/v1/batches`, { downloads: Array.from({ length: size }, (_, i) => requestFor('status', i)) });
    const reads = [];
    for (let i = 0; i < STATUS_READS; i += 1) {
      const started = process.hrtime.bigint();
      const response = await fetch(`${baseUrl}/v1/batches/${batch.id}`, { headers: { authorization: `Bearer ${API_KEY}` } });
      await response.json();
      reads.push(Number(process.hrtime.bigint() - started) / 1e6);
    }

    const base = median(rates[0]);
    console.log('');
    console.log(`${options.count} downloads per path, median of ${options.runs} run(s); the API runs in this process, no workers`);
    console.log(`${'path'.padEnd(42)} ${'jobs/s'.padStart(9)} ${'÷ addBulk'.padStart(10)}`);
    for (const [p, benchPath] of paths.entries()) {
      const rate = median(rates[p]);
      console.log(`${benchPath.name.padEnd(42)} ${rate.toFixed(0).padStart(9)} ${(rate / base).toFixed(2).padStart(10)}`);
    }
    console.log(`GET /v1/batches/{id} with ${size} members: ${median(reads).toFixed(0)} ms (median of ${STATUS_READS})`);
  } finally {
    await app.close();
    await queue.close();
    redis.disconnect();
    await redisServer.stop();
    await rm(dir, { recursive: true, force: true });
  }
  process.exit(failed ? 1 : 0);
}

await main();
