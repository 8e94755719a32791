// Many small files end to end: Ferry (one POST /v1/batches, its API and one worker as separate processes)
// beside a plain BullMQ + undici script doing Ferry's durability steps, aria2c -j and curl -Z, in one run,
// in rotating order, all from one private nginx. Every output is checked by sha256.
// Usage (from the repo root, after `npm run build`):
//   node bench/small-files.mjs [--count 2000] [--kib 16] [--concurrency 64] [--runs 3] [--worker-flag <flag>]...
// Prints files/s, ratios, Redis commands per download (from INFO commandstats) and peak RSS. See bench/README.md.
import { spawn, spawnSync } from 'node:child_process';
import { createServer } from 'node:http';
import { createHash, randomBytes, randomUUID } from 'node:crypto';
import { chmod, mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Redis } from 'ioredis';
import { median } from './median.mjs';
import { startNginxOrigin } from './nginx-origin.mjs';
import { peakRssMB } from './peak-rss.mjs';
import { cpuSeconds } from './process-cpu.mjs';
import { forkReady } from './fork-ready.mjs';
import { commandCalls } from './redis-command-calls.mjs';
import { parseWholeOptions } from './whole-options.mjs';

const BENCH_DIR = path.dirname(fileURLToPath(import.meta.url));
const ROOT = path.join(BENCH_DIR, '..');
const { startRedisServer, freePort } = await import(path.join(ROOT, 'apps', 'launcher', 'dist', 'redis-server.js'));
const { hashApiKey } = await import(path.join(ROOT, 'packages', 'core', 'dist', 'index.js'));
const { WORKER_NODE_FLAGS } = await import(path.join(ROOT, 'apps', 'worker', 'dist', 'node-flags.js'));
const { API_NODE_FLAGS } = await import(path.join(ROOT, 'apps', 'api', 'dist', 'node-flags.js'));

const API_KEY = `fry_bench-${randomUUID()}`;

const sha256 = (bytes) => createHash('sha256').update(bytes).digest('hex');

function callsBetween(before, after) {
  const delta = new Map();
  for (const [command, calls] of after) {
    const d = calls - (before.get(command) ?? 0);
    if (d > 0) delta.set(command, d);
  }
  return delta;
}

/**
 * Where Ferry tells the bench that a batch ended: its completion callback. Learning it so costs the
 * observer no Redis command, where polling the batch every 100 ms cost about 6 per download.
 */
async function startCallbackReceiver() {
  const waiting = new Map();
  const arrived = new Map();
  const server = createServer((req, res) => {
    let body = '';
    req.on('data', (chunk) => (body += chunk));
    req.on('end', () => {
      res.writeHead(204).end();
      const event = JSON.parse(body);
      const resolve = waiting.get(event.data?.id);
      if (resolve === undefined) arrived.set(event.data?.id, event.data);
      else resolve(event.data);
    });
  });
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    port: server.address().port,
    /** Resolves with the batch summary its callback carries, for a batch `start` creates (it returns the batch id). */
    async ended(start) {
      let resolve;
      const ended = new Promise((r) => (resolve = r));
      const id = await start();
      if (arrived.has(id)) resolve(arrived.get(id));
      waiting.set(id, resolve);
      return ended.finally(() => waiting.delete(id));
    },
    stop: () => new Promise((resolve) => server.close(resolve)),
  };
}

function run(command, args, { env } = {}) {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { stdio: ['ignore', 'pipe', 'pipe'], env: env ?? process.env });
    let out = '';
    child.stdout.on('data', (chunk) => (out += chunk));
    child.stderr.on('data', (chunk) => (out += chunk));
    child.once('error', reject);
    child.once('exit', (code) => (code === 0 ? resolve(out) : reject(new Error(`${command} exited with ${code}: ${out.slice(-2000)}`))));
  });
}

async function main() {
  const options = parseWholeOptions('small-files', { count: 2000, kib: 16, concurrency: 64, runs: 3 }, ['worker-flag']);
  for (const tool of ['nginx', 'aria2c', 'curl', 'redis-server']) {
    if (spawnSync(tool, ['-v'], { stdio: 'ignore' }).error !== undefined) {
      console.error(`small-files: ${tool} is not on PATH`);
      return 1;
    }
  }
  const tmp = await mkdtemp(path.join(os.tmpdir(), 'ferry-bench-small-'));
  const cleanups = [() => rm(tmp, { recursive: true, force: true })];
  let failed = false;
  try {
    await chmod(tmp, 0o755);
    const wwwDir = path.join(tmp, 'www', 'f');
    await mkdir(wwwDir, { recursive: true, mode: 0o755 });
    await chmod(path.join(tmp, 'www'), 0o755);
    const names = Array.from({ length: options.count }, (_, i) => `${i}.bin`);
    const digests = new Map();
    for (const name of names) {
      const bytes = randomBytes(options.kib * 1024);
      digests.set(name, sha256(bytes));
      await writeFile(path.join(wwwDir, name), bytes, { mode: 0o644 });
    }

    const port = await freePort();
    const nginx = await startNginxOrigin({ prefix: path.join(tmp, 'nginx'), wwwDir: path.join(tmp, 'www'), port, connections: 1024 });
    cleanups.push(nginx.stop);
    const base = `http://127.0.0.1:${port}/f`;
    const urls = names.map((name) => `${base}/${name}`);
    for (
      let i = 0;
      i < 100 &&
      !(await fetch(urls[0]).then(
        (r) => r.ok,
        () => false,
      ));
      i += 1
    )
      await new Promise((r) => setTimeout(r, 50));

    const redisServer = await startRedisServer({ dir: path.join(tmp, 'redis'), appendonly: false });
    cleanups.push(() => redisServer.stop());
    const redis = new Redis(redisServer.url);
    cleanups.push(() => redis.quit());

    const receiver = await startCallbackReceiver();
    cleanups.push(receiver.stop);
    const storageDir = path.join(tmp, 'ferry-files');
    const env = {
      ...process.env,
      NODE_ENV: 'production',
      REDIS_URL: redisServer.url,
      FERRY_DATA_DIR: path.join(tmp, 'ferry-data'),
      FERRY_STORAGE_DIR: storageDir,
      FERRY_API_KEYS: `bench:${hashApiKey(API_KEY)}`,
      FERRY_API_PORT: '0',
      FERRY_API_HOST: '127.0.0.1',
      FERRY_API_RATE_LIMIT: '1000000',
      FERRY_DASHBOARD_PASSWORD: 'bench-dashboard-password',
      FERRY_LOG_LEVEL: 'warn',
      FERRY_WORKER_CONCURRENCY: String(options.concurrency),
      FERRY_EGRESS_ALLOW_CIDRS: '127.0.0.1/32',
      FERRY_EGRESS_ALLOW_PORTS: `${port},${receiver.port}`,
      FERRY_WEBHOOK_SECRETS: `whsec_${randomBytes(24).toString('base64')}`,
    };
    const api = await forkReady(path.join(ROOT, 'apps', 'api', 'dist', 'main.js'), [], env, [...API_NODE_FLAGS], 'api');
    cleanups.push(api.stop);
    const apiUrl = api.ready.address;
    const auth = { authorization: `Bearer ${API_KEY}` };

    const outDir = (tool) => path.join(tmp, 'out', tool);
    /**
     * Ferry with a worker of its own for each round, started with `nodeFlags` before the round's Redis
     * commands are counted, so its peak RSS (VmHWM) is that round's alone and two flag sets can be compared.
     */
    const ferryTool = (label, nodeFlags) => {
      let worker;
      let cpuBefore;
      return {
        label,
        async setup() {
          worker = await forkReady(path.join(ROOT, 'apps', 'worker', 'dist', 'main.js'), [], env, [...nodeFlags], 'worker');
          cpuBefore = cpuSeconds(worker.child.pid);
        },
        /** The worker's peak RSS and the CPU seconds it spent on the round (its start-up left out). */
        async teardown() {
          const used = { peakRssMB: peakRssMB(worker.child.pid), cpuS: cpuSeconds(worker.child.pid) - cpuBefore };
          await worker.stop();
          return used;
        },
        async run() {
          const summary = await receiver.ended(async () => {
            const response = await fetch(`${apiUrl}/v1/batches`, {
              method: 'POST',
              headers: { ...auth, 'content-type': 'application/json' },
              body: JSON.stringify({ downloads: urls.map((url) => ({ url })), callbackUrl: `http://127.0.0.1:${receiver.port}/batch-ended` }),
            });
            const batch = await response.json();
            if (response.status !== 202) throw new Error(`POST /v1/batches answered ${response.status}: ${JSON.stringify(batch).slice(0, 500)}`);
            return batch.id;
          });
          if (summary.counts.completed !== options.count) throw new Error(`the batch ended ${summary.state}: ${JSON.stringify(summary.counts)}`);
          return summary.id;
        },
        // What a client reading the ended batch costs, measured apart: the observer's work, not the downloads'.
        async observe(batchId) {
          const status = await (await fetch(`${apiUrl}/v1/batches/${batchId}?limit=1`, { headers: auth })).json();
          if (status.counts.completed !== options.count) throw new Error(`GET /v1/batches/{id} counts ${JSON.stringify(status.counts)}`);
        },
        // The key's files are in its namespace directory, the only one not starting with a dot.
        async dir() {
          const entries = await readdir(storageDir, { withFileTypes: true });
          const ns = entries.find((e) => e.isDirectory() && !e.name.startsWith('.'));
          return path.join(storageDir, ns.name);
        },
      };
    };
    const tools = {
      ferry: ferryTool(`Ferry: POST /v1/batches, 1 worker × ${options.concurrency}`, WORKER_NODE_FLAGS),
      ...(options.workerFlag.length > 0 && {
        ferryFlags: ferryTool(`Ferry, worker also with ${options.workerFlag.join(' ')}`, [...WORKER_NODE_FLAGS, ...options.workerFlag]),
      }),
      plain: {
        label: `plain BullMQ + undici, same durability steps, × ${options.concurrency}`,
        async run(round) {
          await mkdir(outDir('plain'), { recursive: true });
          const out = await run(process.execPath, [
            path.join(BENCH_DIR, 'plain-bullmq-child.mjs'),
            redisServer.url,
            `plain${round}`,
            String(options.concurrency),
            outDir('plain'),
            ...urls,
          ]);
          const { completed } = JSON.parse(out.trim().split('\n').pop());
          if (completed !== options.count) throw new Error(`the plain script completed ${completed}`);
        },
        dir: async () => outDir('plain'),
      },
      aria2c: {
        label: `aria2c -j${options.concurrency}`,
        async run() {
          await mkdir(outDir('aria2c'), { recursive: true });
          const list = path.join(tmp, 'aria2c-urls.txt');
          await writeFile(list, `${urls.join('\n')}\n`);
          await run('aria2c', [`-j${options.concurrency}`, '-q', '--file-allocation=none', '--allow-overwrite=true', '-d', outDir('aria2c'), '-i', list]);
        },
        dir: async () => outDir('aria2c'),
      },
      curl: {
        label: `curl -Z --parallel-max ${options.concurrency}`,
        async run() {
          await mkdir(outDir('curl'), { recursive: true });
          await run('curl', [
            '-sS',
            '-f',
            '-Z',
            '--parallel-max',
            String(options.concurrency),
            '-o',
            `${outDir('curl')}/#1.bin`,
            `${base}/[0-${options.count - 1}].bin`,
          ]);
        },
        dir: async () => outDir('curl'),
      },
    };
    const order = Object.keys(tools);
    const rates = Object.fromEntries(order.map((t) => [t, []]));
    const commands = Object.fromEntries(['ferry', 'ferryFlags', 'plain'].filter((t) => t in tools).map((t) => [t, []]));
    const workerUse = Object.fromEntries(order.filter((t) => tools[t].setup !== undefined).map((t) => [t, []]));
    const observerCommands = [];
    console.log(
      `${options.count} × ${options.kib} KiB from nginx on 127.0.0.1; ${os.cpus().length} CPUs, load ${os.loadavg()[0].toFixed(1)}; ${options.runs} round(s), rotating order`,
    );

    for (let round = 0; round < options.runs; round += 1) {
      const rotated = [...order.slice(round % order.length), ...order.slice(0, round % order.length)];
      for (const name of rotated) {
        const tool = tools[name];
        await tool.setup?.();
        const before = await commandCalls(redis);
        const started = process.hrtime.bigint();
        const ran = await tool.run(round);
        const seconds = Number(process.hrtime.bigint() - started) / 1e9;
        const delta = callsBetween(before, await commandCalls(redis));
        delta.set('info', (delta.get('info') ?? 1) - 1);
        if (name in commands) commands[name].push(delta);
        if (tool.observe !== undefined) {
          const calls = await commandCalls(redis);
          await tool.observe(ran);
          const read = callsBetween(calls, await commandCalls(redis));
          observerCommands.push([...read.values()].reduce((a, b) => a + b, 0) - 1);
        }
        const used = await tool.teardown?.();
        if (used !== undefined) workerUse[name].push(used);
        // Every output must be whole and right.
        const dir = await tool.dir();
        let bad = 0;
        for (const file of names) {
          const bytes = await readFile(path.join(dir, file)).catch(() => undefined);
          if (bytes === undefined || sha256(bytes) !== digests.get(file)) bad += 1;
        }
        if (bad > 0) {
          failed = true;
          console.error(`small-files: ${name}: ${bad} of ${options.count} files missing or wrong`);
        }
        await rm(dir, { recursive: true, force: true });
        rates[name].push(options.count / seconds);
        const peakNote = used === undefined ? '' : `, worker peak RSS ${used.peakRssMB?.toFixed(1)} MB, CPU ${used.cpuS.toFixed(2)} s`;
        console.log(
          `round ${round + 1}: ${tool.label}: ${(options.count / seconds).toFixed(0)} files/s (${seconds.toFixed(2)} s)${peakNote}, load ${os.loadavg()[0].toFixed(1)}`,
        );
      }
    }

    const ferry = median(rates.ferry);
    console.log('');
    console.log(`${'tool'.padEnd(58)} ${'files/s'.padStart(8)} ${'Ferry ÷'.padStart(8)}`);
    for (const name of order) {
      const rate = median(rates[name]);
      console.log(`${tools[name].label.padEnd(58)} ${rate.toFixed(0).padStart(8)} ${(ferry / rate).toFixed(2).padStart(8)}`);
    }
    const targets = { plain: 0.9, aria2c: 1.2 };
    if ('ferryFlags' in tools) {
      // The same rounds side by side: the median of the per-round ratios, not the ratio of the medians.
      const perRound = rates.ferryFlags.map((r, i) => r / rates.ferry[i]);
      console.log(`${tools.ferryFlags.label} ÷ Ferry: ${median(perRound).toFixed(2)} (per round: ${perRound.map((r) => r.toFixed(2)).join(', ')})`);
    }
    for (const [name, target] of Object.entries(targets)) {
      console.log(
        `target Ferry ÷ ${name} ≥ ${target}: ${(ferry / median(rates[name])).toFixed(2)} (per round: ${rates.ferry.map((r, i) => (r / rates[name][i]).toFixed(2)).join(', ')})`,
      );
    }
    for (const [name, deltas] of Object.entries(commands)) {
      const last = deltas[deltas.length - 1];
      const perDownload = (n) => n / options.count;
      const totals = deltas.map((d) => [...d.values()].reduce((a, b) => a + b, 0));
      console.log('');
      console.log(
        `Redis commands per download, ${name}: ${perDownload(median(totals)).toFixed(1)} (per round: ${totals.map((t) => perDownload(t).toFixed(1)).join(', ')})${name === 'ferry' ? '; target ≤ 35' : ''}`,
      );
      const rows = [...last].sort((a, b) => b[1] - a[1]);
      console.log(`  last round: ${rows.map(([command, calls]) => `${command} ${perDownload(calls).toFixed(2)}`).join(', ')}`);
    }
    console.log(
      `the observer, not counted above: Ferry's completion callback tells the bench the batch ended; one GET /v1/batches/{id} after it cost ${observerCommands.join(', ')} Redis commands`,
    );
    console.log('');
    console.log(`peak RSS: API ${peakRssMB(api.child.pid)?.toFixed(1)} MB (target < 150)`);
    for (const [name, rounds] of Object.entries(workerUse)) {
      const peaks = rounds.map((r) => r.peakRssMB);
      const cpu = rounds.map((r) => r.cpuS);
      console.log(
        `${tools[name].label}: worker peak RSS ${median(peaks).toFixed(1)} MB (per round: ${peaks.map((p) => p.toFixed(1)).join(', ')}; target < 150)`,
      );
      console.log(`  worker CPU per round ${median(cpu).toFixed(2)} s (per round: ${cpu.map((c) => c.toFixed(2)).join(', ')})`);
    }
  } finally {
    for (const step of cleanups.reverse()) await step().catch((err) => console.error(`small-files: cleanup: ${err.message}`));
  }
  return failed ? 1 : 0;
}

process.exitCode = await main();
