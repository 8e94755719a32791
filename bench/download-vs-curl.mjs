// Ferry's download engine against curl, both fetching one file from a local origin.
// Usage (from the repo root, after `npm run build`):
//   node bench/download-vs-curl.mjs [--size-mib 1024] [--runs 3] [--origin auto|nginx|node] [--node-flag <flag>]...
// Prints figures only; exits non-zero only when a download fails or a checksum does not match.
// See bench/README.md.
import { spawn, spawnSync } from 'node:child_process';
import { createHash, randomFillSync } from 'node:crypto';
import { createReadStream, existsSync } from 'node:fs';
import { chmod, mkdir, mkdtemp, open, readFile, rm, stat } from 'node:fs/promises';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { pipeline } from 'node:stream/promises';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { median } from './median.mjs';
import { peakRssMB } from './peak-rss.mjs';
import { startNginxOrigin } from './nginx-origin.mjs';

const BENCH_DIR = path.dirname(fileURLToPath(import.meta.url));
const ENGINE_DIST = path.join(BENCH_DIR, '..', 'packages', 'engine', 'dist', 'index.js');
const REDIS_SERVER_DIST = path.join(BENCH_DIR, '..', 'apps', 'launcher', 'dist', 'redis-server.js');
const ENGINE_CHILD = path.join(BENCH_DIR, 'engine-child.mjs');
const WORKER_FLAGS_MODULE = path.join(BENCH_DIR, '..', 'apps', 'worker', 'dist', 'node-flags.js');
const LAUNCHER_MAIN = path.join(BENCH_DIR, '..', 'apps', 'launcher', 'dist', 'main.js');
const STACK_READY_TIMEOUT_MS = 60_000;
/** Long enough for four copies of a large file on a slow machine; a worker that died would otherwise be waited for forever. */
const WORKER_STEP_TIMEOUT_MS = 15 * 60_000;
/** As many as a worker runs at once by default (FERRY_WORKER_CONCURRENCY). */
const WORKER_DOWNLOADS = 4;
/** Node flags for every engine child: the worker's own, as npm start and docker-compose start it, then any --node-flag. Set once, in main. */
let engineNodeFlags = [];

/** Runs the engine child with its arguments; `result` is the JSON line it printed last, when it exited 0. */
async function runEngine(args) {
  const { code, stdout, wallMs } = await run(process.execPath, [...engineNodeFlags, ENGINE_CHILD, ...args], { captureStdout: true });
  return { code, wallMs, result: code === 0 ? JSON.parse(stdout.trim().split('\n').at(-1)) : undefined };
}
const MIB = 1024 * 1024;
const MB = 1e6;
const SOURCE_NAME = 'source.bin';
const GENERATE_CHUNK_BYTES = 4 * MIB;
const ORIGIN_READY_TIMEOUT_MS = 10_000;
const STOP_TIMEOUT_MS = 5_000;

// ---------------------------------------------------------------- arguments

function parseOptions() {
  const { values } = parseArgs({
    options: {
      'size-mib': { type: 'string', default: '1024' },
      runs: { type: 'string', default: '3' },
      origin: { type: 'string', default: 'auto' },
      'node-flag': { type: 'string', multiple: true, default: [] },
      help: { type: 'boolean', short: 'h', default: false },
    },
  });
  if (values.help) {
    console.log('usage: node bench/download-vs-curl.mjs [--size-mib 1024] [--runs 3] [--origin auto|nginx|node] [--node-flag <flag>]...');
    process.exit(0);
  }
  const sizeMiB = Number(values['size-mib']);
  const runs = Number(values.runs);
  if (!Number.isInteger(sizeMiB) || sizeMiB < 1) usageError('--size-mib must be a whole number of MiB, at least 1');
  if (!Number.isInteger(runs) || runs < 1) usageError('--runs must be a whole number, at least 1');
  if (!['auto', 'nginx', 'node'].includes(values.origin)) usageError('--origin must be auto, nginx or node');
  return { sizeBytes: sizeMiB * MIB, runs, origin: values.origin, nodeFlags: values['node-flag'] };
}

function usageError(message) {
  console.error(`download-vs-curl: ${message}`);
  process.exit(2);
}

// ---------------------------------------------------------------- cleanup

/** Everything to undo on exit, newest first. Each step runs even if an earlier one failed. */
const cleanups = [];
const running = new Set();
let cleaning;

/** What work started after an interrupt awaits: the process exits once cleanup is done. */
const never = () => new Promise(() => undefined);

function cleanup() {
  cleaning ??= (async () => {
    // Wait for our children to go, so that none writes into the temp dir after it is removed.
    await Promise.all(
      [...running].map(
        (child) =>
          new Promise((resolve) => {
            child.once('close', resolve);
            child.kill('SIGTERM');
            setTimeout(() => child.kill('SIGKILL'), STOP_TIMEOUT_MS).unref();
          }),
      ),
    );
    for (const step of cleanups.reverse()) {
      try {
        await step();
      } catch (err) {
        console.error(`download-vs-curl: cleanup: ${err.message}`);
      }
    }
  })();
  return cleaning;
}

for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP']) {
  process.once(signal, () => {
    console.error(`\ndownload-vs-curl: ${signal} received, cleaning up`);
    void cleanup().finally(() => process.exit(128 + os.constants.signals[signal]));
  });
}

// ---------------------------------------------------------------- helpers

function onPath(executable, versionArgs) {
  const result = spawnSync(executable, versionArgs, { encoding: 'utf8' });
  return result.error === undefined && result.status === 0 ? `${result.stdout}${result.stderr}`.trim() : null;
}

/** Runs a command to completion; resolves with its exit code, stdout and wall-clock milliseconds. */
function run(command, args, { captureStdout = false } = {}) {
  if (cleaning !== undefined) return never();
  return new Promise((resolve, reject) => {
    const started = performance.now();
    const child = spawn(command, args, { stdio: ['ignore', captureStdout ? 'pipe' : 'inherit', 'inherit'] });
    running.add(child);
    let stdout = '';
    child.stdout?.setEncoding('utf8').on('data', (text) => (stdout += text));
    child.once('error', (err) => {
      running.delete(child);
      reject(err);
    });
    child.once('close', (code, signal) => {
      running.delete(child);
      // Killed by our own cleanup: the process is about to exit, there is nothing to report.
      if (cleaning !== undefined) return;
      resolve({ code: code ?? 128 + (os.constants.signals[signal] ?? 0), stdout, wallMs: performance.now() - started });
    });
  });
}

const mbps = (bytes, ms) => bytes / MB / (ms / 1000);
const round = (value, digits) => (value === null || value === undefined ? null : Number(value.toFixed(digits)));

/** fsyncs a file and returns how long it took: what curl would pay to be as durable as Ferry. */
async function fsyncMs(file) {
  const started = performance.now();
  const handle = await open(file, 'r+');
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
  return performance.now() - started;
}

// ---------------------------------------------------------------- source file

/** Writes `sizeBytes` of random bytes in chunks, hashing as it goes, so the file is never in memory. */
async function writeRandomFile(file, sizeBytes) {
  const hash = createHash('sha256');
  const chunk = Buffer.allocUnsafe(Math.min(GENERATE_CHUNK_BYTES, sizeBytes));
  const handle = await open(file, 'wx', 0o644);
  try {
    for (let written = 0; written < sizeBytes;) {
      if (cleaning !== undefined) return never();
      const slice = chunk.subarray(0, Math.min(chunk.length, sizeBytes - written));
      randomFillSync(slice);
      hash.update(slice);
      await handle.write(slice, 0, slice.length);
      written += slice.length;
    }
    // Flushed now, so that writeback of the source does not land in the middle of a timed run.
    await handle.sync();
  } finally {
    await handle.close();
  }
  return hash.digest('hex');
}

// ---------------------------------------------------------------- origins

async function waitForOrigin(url, exited) {
  const deadline = Date.now() + ORIGIN_READY_TIMEOUT_MS;
  for (;;) {
    if (exited()) throw new Error('the origin exited during start-up');
    try {
      const status = await new Promise((resolve, reject) => {
        http
          .request(url, { method: 'HEAD' }, (res) => resolve(res.statusCode))
          .once('error', reject)
          .end();
      });
      if (status === 200) return;
      throw new Error(`HEAD ${url} answered ${status}`);
    } catch (err) {
      if (Date.now() > deadline) throw new Error(`the origin was not ready after ${ORIGIN_READY_TIMEOUT_MS} ms: ${err.message}`);
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  }
}

/** Starts a private nginx (own prefix, pid, logs, temp dirs) that serves `wwwDir` with sendfile. */
async function startNginx(tmp, wwwDir, port, version) {
  const { errorLog, accessLog, stop, exited } = await startNginxOrigin({ prefix: path.join(tmp, 'nginx'), wwwDir, port });
  cleanups.push(stop);
  const url = `http://127.0.0.1:${port}/${SOURCE_NAME}`;
  try {
    await waitForOrigin(url, exited);
  } catch (err) {
    const log = await readFile(errorLog, 'utf8').catch(() => '');
    throw new Error(`nginx did not start: ${err.message}${log ? `\n${log}` : ''}`);
  }
  return { url, label: `nginx ${version.replace(/^nginx version: nginx\//, '')} (sendfile on)`, accessLog };
}

/** The fallback origin: a Node http server in this process that streams the file. */
async function startNodeServer(sourceFile, sizeBytes, port) {
  const server = http.createServer((req, res) => {
    if (req.url !== `/${SOURCE_NAME}`) {
      res.writeHead(404).end();
      return;
    }
    res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': sizeBytes });
    if (req.method === 'HEAD') {
      res.end();
      return;
    }
    pipeline(createReadStream(sourceFile, { highWaterMark: MIB }), res).catch(() => undefined);
  });
  await new Promise((resolve, reject) => server.once('error', reject).listen(port, '127.0.0.1', resolve));
  cleanups.push(
    () =>
      new Promise((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  );
  return { url: `http://127.0.0.1:${port}/${SOURCE_NAME}`, label: `node ${process.version} http server (fs.createReadStream)` };
}

// ---------------------------------------------------------------- one download each

async function runCurl(tmp, url, sizeBytes) {
  const out = path.join(tmp, 'curl.out');
  try {
    const { code, wallMs } = await run('curl', ['-sS', '-o', out, url]);
    if (code !== 0) return { ok: false, error: `curl exited with ${code}` };
    const { size } = await stat(out);
    if (size !== sizeBytes) return { ok: false, error: `curl wrote ${size} bytes, expected ${sizeBytes}` };
    return { ok: true, wallMs, fsyncMs: await fsyncMs(out) };
  } finally {
    await rm(out, { force: true });
  }
}

/**
 * The same work as Ferry with its digest on, done by C tools: curl receives, tee
 * stores, openssl hashes (with the CPU's SHA extensions where it has them), three
 * processes in a pipeline. What this machine can do for "download, store and sha256".
 */
async function runCurlPipe(tmp, url, sizeBytes, sourceSha256) {
  const out = path.join(tmp, 'pipe.out');
  try {
    const script = 'curl -sS "$1" | tee "$2" | openssl dgst -sha256 -r';
    const { code, stdout, wallMs } = await run('bash', ['-o', 'pipefail', '-c', script, 'bash', url, out], { captureStdout: true });
    if (code !== 0) return { ok: false, error: `curl | tee | openssl exited with ${code}` };
    const sha256 = stdout.trim().split(/\s/)[0];
    if (sha256 !== sourceSha256) return { ok: false, error: `openssl printed sha256 ${sha256}, not the source's ${sourceSha256}` };
    const { size } = await stat(out);
    if (size !== sizeBytes) return { ok: false, error: `tee wrote ${size} bytes, expected ${sizeBytes}` };
    return { ok: true, wallMs };
  } finally {
    await rm(out, { force: true });
  }
}

/** aria2c with its defaults, one connection; with `verify` it also checks the source's sha256 (--checksum), as a caller asking Ferry for a checksum would. */
async function runAria2(tmp, url, sizeBytes, sourceSha256, verify) {
  const dir = path.join(tmp, 'aria2');
  try {
    const checksum = verify ? [`--checksum=sha-256=${sourceSha256}`] : [];
    const { code, wallMs } = await run('aria2c', [
      '-q',
      '--allow-overwrite=true',
      '--auto-file-renaming=false',
      '-d',
      dir,
      '-o',
      'aria2.out',
      ...checksum,
      url,
    ]);
    if (code !== 0) return { ok: false, error: `aria2c exited with ${code}` };
    const { size } = await stat(path.join(dir, 'aria2.out'));
    if (size !== sizeBytes) return { ok: false, error: `aria2c wrote ${size} bytes, expected ${sizeBytes}` };
    return { ok: true, wallMs };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

async function sha256OfFile(file) {
  const hash = createHash('sha256');
  await pipeline(createReadStream(file, { highWaterMark: MIB }), hash);
  return hash.digest('hex');
}

/** One engine download in a child; with `digest` 'off' the engine skips its sha256, so the stored file is hashed here afterwards (untimed). */
async function runFerry(tmp, url, sizeBytes, sourceSha256, digest) {
  const storageDir = path.join(tmp, 'ferry-store');
  try {
    const { code, wallMs, result } = await runEngine([url, storageDir, JSON.stringify({ digest })]);
    if (code !== 0) return { ok: false, error: `engine child exited with ${code}` };
    const stored = fileURLToPath(result.location);
    const { size } = await stat(stored);
    if (size !== sizeBytes || result.bytes !== sizeBytes) {
      return { ok: false, error: `Ferry stored ${size} bytes (reported ${result.bytes}), expected ${sizeBytes}` };
    }
    const sha256 = digest === 'on' ? result.sha256 : await sha256OfFile(stored);
    if (sha256 !== sourceSha256) return { ok: false, error: `the sha256 of Ferry's file, ${sha256}, is not the source's ${sourceSha256}` };
    return { ok: true, processWallMs: wallMs, ...result };
  } finally {
    await rm(storageDir, { recursive: true, force: true });
  }
}

/** This CPU's raw sha256 speed in MB/s: `sizeBytes` hashed from memory in 1 MiB pieces. Measured in every run, as the machine's load changes. */
function rawSha256MBps(sizeBytes) {
  const piece = randomFillSync(Buffer.allocUnsafe(MIB));
  const hash = createHash('sha256');
  const started = performance.now();
  for (let done = 0; done < sizeBytes; done += piece.length) hash.update(done + piece.length <= sizeBytes ? piece : piece.subarray(0, sizeBytes - done));
  hash.digest();
  return mbps(sizeBytes, performance.now() - started);
}

/** Body bytes nginx sent for each request logged after line `from` of its access log (combined format). */
async function nginxBodyBytes(accessLog, from) {
  const lines = (await readFile(accessLog, 'utf8')).split('\n').filter(Boolean).slice(from);
  return lines.map((line) => Number(/" (\d{3}) (\d+) "/.exec(line)?.[2] ?? NaN));
}

/**
 * Interrupts one engine download at half the file, then resumes it in a second
 * process, as a worker shutdown and a take-over by another worker would.
 */
async function runResume(tmp, url, sizeBytes, sourceSha256, accessLog) {
  const storageDir = path.join(tmp, 'ferry-resume');
  const logLinesBefore = accessLog === undefined ? 0 : (await readFile(accessLog, 'utf8')).split('\n').filter(Boolean).length;
  try {
    const first = await runEngine([url, storageDir, JSON.stringify({ stopAtBytes: Math.floor(sizeBytes / 2) })]);
    const stopped = first.result;
    if (stopped?.stopped !== true) return { ok: false, error: `the interrupted run did not leave a checkpoint (exit ${first.code})` };
    const second = await runEngine([url, storageDir, JSON.stringify({ resumeFrom: stopped.checkpoint })]);
    if (second.code !== 0) return { ok: false, error: `the resumed run exited with ${second.code}` };
    const { result } = second;
    if (result.sha256 !== sourceSha256 || result.bytes !== sizeBytes)
      return { ok: false, error: `the resumed file is wrong: ${result.bytes} bytes, sha256 ${result.sha256}` };
    const served = accessLog === undefined ? null : (await nginxBodyBytes(accessLog, logLinesBefore)).reduce((a, b) => a + b, 0);
    return { ok: true, stoppedAtBytes: stopped.checkpoint.bytes, servedBytes: served, servedRatio: served === null ? null : served / sizeBytes };
  } finally {
    await rm(storageDir, { recursive: true, force: true });
  }
}

// ---------------------------------------------------------------- the real worker

/**
 * What `npm start` runs (launcher: private redis-server, API, worker started with
 * its Node flags), in its own data dir, asked over HTTP for `downloads` copies of
 * the file at once. Reports the worker process's own peak RSS: the figure the RSS
 * target is about, with BullMQ, Redis connections and `concurrency` downloads in it.
 */
async function runWorker(tmp, url, sizeBytes, sourceSha256, downloads, apiPort) {
  const home = path.join(tmp, 'stack');
  await mkdir(home);
  const origin = new URL(url);
  const env = {
    ...process.env,
    FERRY_API_PORT: String(apiPort),
    FERRY_LOG_FORMAT: 'json',
    FERRY_EGRESS_ALLOW_CIDRS: `${origin.hostname}/32`,
    FERRY_EGRESS_ALLOW_PORTS: origin.port,
  };
  delete env.REDIS_URL;
  // cwd is the stack's home: the launcher keeps its data (and reads a .env) there.
  const child = spawn(process.execPath, [LAUNCHER_MAIN], { cwd: home, env, stdio: ['ignore', 'pipe', 'inherit'] });
  running.add(child);
  const exited = new Promise((resolve) => child.once('close', (code) => resolve(code)));
  let log = '';
  let workerPid;
  let apiAddress;
  child.stdout.setEncoding('utf8').on('data', (text) => {
    // A chunk can end mid-line: only whole lines are read, the rest waits in `log`.
    const from = log.lastIndexOf('\n') + 1;
    log += text;
    for (const line of log.slice(from, log.lastIndexOf('\n') + 1).split('\n')) {
      if (!line.startsWith('{')) continue;
      const entry = JSON.parse(line);
      if (entry.name === 'ferry-worker' && entry.msg === 'worker ready') workerPid = entry.pid;
      if (entry.name === 'ferry-api' && entry.msg === 'api listening') apiAddress = entry.address;
    }
  });
  try {
    const deadline = Date.now() + STACK_READY_TIMEOUT_MS;
    while (workerPid === undefined || apiAddress === undefined) {
      if (child.exitCode !== null || Date.now() > deadline) return { ok: false, error: `the stack did not start:\n${log.slice(-2000)}` };
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    const key = (await readFile(path.join(home, '.ferry', 'dev-api-key'), 'utf8')).trim();
    const call = async (method, route, body) => {
      const response = await fetch(`${apiAddress}${route}`, {
        method,
        headers: { authorization: `Bearer ${key}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
        body: body === undefined ? undefined : JSON.stringify(body),
      });
      const answer = await response.json();
      if (!response.ok) throw new Error(`${method} ${route} answered ${response.status}: ${JSON.stringify(answer)}`);
      return answer;
    };
    const ids = [];
    for (let i = 0; i < downloads; i += 1) ids.push((await call('POST', '/v1/downloads', { url, filename: `copy-${i}.bin` })).id);
    const ended = [];
    const running = new Set(ids);
    const giveUpAt = Date.now() + WORKER_STEP_TIMEOUT_MS;
    while (running.size > 0) {
      if (cleaning !== undefined) return never();
      if (Date.now() > giveUpAt)
        return {
          ok: false,
          error: `only ${ended.length} of ${ids.length} downloads ended within ${WORKER_STEP_TIMEOUT_MS / 60_000} min:\n${log.slice(-2000)}`,
        };
      await new Promise((resolve) => setTimeout(resolve, 200));
      for (const id of running) {
        const status = await call('GET', `/v1/downloads/${id}`);
        if (status.state !== 'completed' && status.state !== 'failed') continue;
        ended.push(status);
        running.delete(id);
      }
    }
    const wrong = ended.find((status) => status.state !== 'completed' || status.result.sha256 !== sourceSha256 || status.result.bytes !== sizeBytes);
    if (wrong !== undefined) return { ok: false, error: `download ${wrong.id} ended ${wrong.state}: ${JSON.stringify(wrong.error ?? wrong.result)}` };
    const spanMs = Math.max(...ended.map((s) => Date.parse(s.finishedAt))) - Math.min(...ended.map((s) => Date.parse(s.createdAt)));
    return { ok: true, peakRssMB: peakRssMB(workerPid), spanMs };
  } finally {
    child.kill('SIGTERM');
    await exited;
    running.delete(child);
    await rm(home, { recursive: true, force: true });
  }
}

// ---------------------------------------------------------------- report

/** Table columns: heading, row field, decimals. */
const TABLE = [
  ['curl MB/s', 'curlMBps', 1],
  ['on MB/s', 'onMBps', 1],
  ['off MB/s', 'offMBps', 1],
  ['sha256 MB/s', 'sha256MBps', 0],
  ['on/curl', 'ratioOnCurl', 3],
  ['off/curl', 'ratioOffCurl', 3],
  ['on/sha256', 'ratioOnSha256', 3],
  ['peak RSS MB', 'peakRssMB', 1],
  ['on CPU s', 'onCpuS', 2],
  ['off CPU s', 'offCpuS', 2],
  ['curl+fsync MB/s', 'curlFsyncMBps', 1],
  ['off/(curl+fsync)', 'ratioOffCurlFsync', 3],
];

/** The C tools doing Ferry's work, when they are on PATH. */
const PEER_TABLE = [
  ['pipe MB/s', 'pipeMBps', 1],
  ['pipe/sha256', 'ratioPipeSha256', 3],
  ['on/pipe', 'ratioOnPipe', 3],
  ['aria2c MB/s', 'aria2MBps', 1],
  ['off/aria2c', 'ratioOffAria2', 3],
  ['aria2c+sha MB/s', 'aria2ShaMBps', 1],
  ['on/(aria2c+sha)', 'ratioOnAria2Sha', 3],
];

const format = (value, digits) => (value === null || value === undefined ? 'failed' : value.toFixed(digits));

function printTable(rows, columns) {
  const header = ['run', ...columns.map(([heading]) => heading)];
  const cells = rows.map((row) => [String(row.run), ...columns.map(([, field, digits]) => format(row[field], digits))]);
  const widths = header.map((h, i) => Math.max(h.length, ...cells.map((c) => c[i].length)));
  const line = (values) => values.map((v, i) => (i === 0 ? v.padEnd(widths[i]) : v.padStart(widths[i]))).join('  ');
  const rule = widths.map((w) => '-'.repeat(w)).join('  ');
  console.log(line(header));
  console.log(rule);
  cells.forEach((c, i) => {
    if (i === cells.length - 1) console.log(rule); // the last row is the median
    console.log(line(c));
  });
}

// ---------------------------------------------------------------- main

/** Every download a run does, by name: what the progress line calls it, and how it runs. The peers join when their tools are on PATH. */
function downloadTools(tmp, url, sizeBytes, sourceSha256, peers) {
  return {
    curl: ['curl', () => runCurl(tmp, url, sizeBytes)],
    on: ['Ferry, digest on', () => runFerry(tmp, url, sizeBytes, sourceSha256, 'on')],
    off: ['Ferry, digest off', () => runFerry(tmp, url, sizeBytes, sourceSha256, 'off')],
    ...(peers.pipe ? { pipe: ['curl | tee | openssl dgst -sha256', () => runCurlPipe(tmp, url, sizeBytes, sourceSha256)] } : {}),
    ...(peers.aria2
      ? {
          aria2: ['aria2c', () => runAria2(tmp, url, sizeBytes, sourceSha256, false)],
          aria2Sha: ['aria2c --checksum=sha-256', () => runAria2(tmp, url, sizeBytes, sourceSha256, true)],
        }
      : {}),
  };
}

async function main() {
  const { sizeBytes, runs, origin, nodeFlags } = parseOptions();
  if (!existsSync(WORKER_FLAGS_MODULE)) {
    console.error(`download-vs-curl: ${path.relative(process.cwd(), WORKER_FLAGS_MODULE)} is missing; run \`npm run build\` first`);
    return 1;
  }
  const { WORKER_NODE_FLAGS } = await import(WORKER_FLAGS_MODULE);
  engineNodeFlags = [...WORKER_NODE_FLAGS, ...nodeFlags];
  if (!existsSync(ENGINE_DIST) || !existsSync(REDIS_SERVER_DIST)) {
    console.error(`download-vs-curl: the built engine or launcher is missing; run \`npm run build\` first`);
    return 1;
  }
  if (onPath('curl', ['--version']) === null) {
    console.error('download-vs-curl: curl is not on PATH (Debian/Ubuntu: `apt-get install curl`)');
    return 1;
  }
  const nginxVersion = origin === 'node' ? null : onPath('nginx', ['-v']);
  if (origin === 'nginx' && nginxVersion === null) {
    console.error('download-vs-curl: --origin nginx, but nginx is not on PATH (Debian/Ubuntu: `apt-get install nginx`)');
    return 1;
  }
  const { freePort } = await import(REDIS_SERVER_DIST);
  const peers = { pipe: onPath('openssl', ['version']) !== null, aria2: onPath('aria2c', ['--version']) !== null };

  const tmp = await mkdtemp(path.join(os.tmpdir(), 'ferry-bench-'));
  cleanups.push(() => rm(tmp, { recursive: true, force: true }));
  // nginx workers may run as another user (nobody when started as root): let them in.
  await chmod(tmp, 0o755);
  const wwwDir = path.join(tmp, 'www');
  await mkdir(wwwDir, { mode: 0o755 });
  const sourceFile = path.join(wwwDir, SOURCE_NAME);

  console.log(`Writing ${sizeBytes / MIB} MiB of random bytes to ${sourceFile} ...`);
  let started = performance.now();
  const sourceSha256 = await writeRandomFile(sourceFile, sizeBytes);
  console.log(`  done in ${((performance.now() - started) / 1000).toFixed(1)} s, sha256 ${sourceSha256}`);

  const port = await freePort();
  const server = nginxVersion !== null ? await startNginx(tmp, wwwDir, port, nginxVersion) : await startNodeServer(sourceFile, sizeBytes, port);
  console.log(`Origin: ${server.label} at ${server.url}`);
  console.log(`Machine: ${os.cpus().length} × ${os.cpus()[0]?.model ?? 'unknown CPU'}, Node ${process.version}, ${os.platform()} ${os.release()}`);
  console.log(`Engine children run with the worker's Node flags${nodeFlags.length > 0 ? ' and --node-flag' : ''}: ${engineNodeFlags.join(' ') || '(none)'}`);
  const tools = downloadTools(tmp, server.url, sizeBytes, sourceSha256, peers);
  console.log(
    `Runs: ${runs}; each run does, in rotating order: ${Object.values(tools)
      .map(([label]) => label)
      .join('; ')}.`,
  );
  if (!peers.pipe) console.log('  (no curl | tee | openssl run: openssl is not on PATH)');
  if (!peers.aria2) console.log('  (no aria2c runs: aria2c is not on PATH; Debian/Ubuntu: `apt-get install aria2`)');
  console.log('');

  const rows = [];
  let failed = false;
  const names = Object.keys(tools);
  for (let n = 1; n <= runs; n += 1) {
    const order = names.map((_, i) => names[(i + n - 1) % names.length]);
    const results = {};
    for (const name of order) {
      const [label, download] = tools[name];
      process.stdout.write(`run ${n}: ${label} ... `);
      started = performance.now();
      results[name] = await download();
      if (cleaning !== undefined) return never();
      console.log(results[name].ok ? `${((performance.now() - started) / 1000).toFixed(2)} s` : `FAILED: ${results[name].error}`);
      if (!results[name].ok) failed = true;
    }
    const { curl, on, off } = results;
    const wallMBps = (result) => (result?.ok === true ? mbps(sizeBytes, result.wallMs) : null);
    const pipeMBps = wallMBps(results.pipe);
    const aria2MBps = wallMBps(results.aria2);
    const aria2ShaMBps = wallMBps(results.aria2Sha);
    const sha256MBps = rawSha256MBps(sizeBytes);
    const curlMBps = wallMBps(curl);
    const curlFsyncMBps = curl.ok ? mbps(sizeBytes, curl.wallMs + curl.fsyncMs) : null;
    const onMBps = on.ok ? mbps(sizeBytes, on.elapsedMs) : null;
    const offMBps = off.ok ? mbps(sizeBytes, off.elapsedMs) : null;
    const divide = (a, b) => (a === null || b === null ? null : a / b);
    rows.push({
      run: n,
      curlMBps,
      onMBps,
      offMBps,
      sha256MBps,
      ratioOnCurl: divide(onMBps, curlMBps),
      ratioOffCurl: divide(offMBps, curlMBps),
      ratioOnSha256: divide(onMBps, sha256MBps),
      peakRssMB: on.ok || off.ok ? Math.max(on.peakRssMB ?? 0, off.peakRssMB ?? 0) : null,
      onCpuS: on.ok ? on.cpuMs / 1000 : null,
      offCpuS: off.ok ? off.cpuMs / 1000 : null,
      curlFsyncMBps,
      ratioOffCurlFsync: divide(offMBps, curlFsyncMBps),
      pipeMBps,
      ratioPipeSha256: divide(pipeMBps, sha256MBps),
      ratioOnPipe: divide(onMBps, pipeMBps),
      aria2MBps,
      ratioOffAria2: divide(offMBps, aria2MBps),
      aria2ShaMBps,
      ratioOnAria2Sha: divide(onMBps, aria2ShaMBps),
      curlWallMs: curl.ok ? curl.wallMs : null,
      curlFsyncMs: curl.ok ? curl.fsyncMs : null,
      onElapsedMs: on.ok ? on.elapsedMs : null,
      offElapsedMs: off.ok ? off.elapsedMs : null,
      onProcessWallMs: on.ok ? on.processWallMs : null,
      onPhasesMs: on.ok ? on.phases : null,
      offPhasesMs: off.ok ? off.phases : null,
    });
  }

  const columns = [...[...TABLE, ...PEER_TABLE].map(([, field]) => field), 'curlWallMs', 'curlFsyncMs', 'onElapsedMs', 'offElapsedMs', 'onProcessWallMs'];
  const medianRow = { run: 'median', ...Object.fromEntries(columns.map((c) => [c, median(rows.map((r) => r[c]))])) };

  console.log(`\nFile ${sizeBytes} bytes (${sizeBytes / MIB} MiB). MB = 1e6 bytes. Each column's median is taken over the runs separately.`);
  console.log(
    'curl: wall clock of the curl process. on / off: downloadToStorage() in a child with the digest on / off; both include the fsync before publishing.',
  );
  console.log("sha256: this CPU hashing as many bytes from memory, in the same run. CPU s: CPU time of all the child's threads during the call.\n");
  printTable([...rows, medianRow], TABLE);
  if (peers.pipe || peers.aria2) {
    console.log('\nThe same work done by C tools, in the same runs. pipe: curl -sS <url> | tee <file> | openssl dgst -sha256 (receive, store, hash:');
    console.log('what Ferry does with the digest on). aria2c: its defaults, one connection; +sha adds --checksum=sha-256=<source>.\n');
    printTable([...rows, medianRow], PEER_TABLE);
  }

  console.log('\nFerry phases (ms from the call; first byte = first progress report, finish = last byte written, committed = fsync and link done):');
  for (const row of rows) {
    for (const [digest, p] of [
      ['on', row.onPhasesMs],
      ['off', row.offPhasesMs],
    ]) {
      if (p !== null)
        console.log(`  run ${row.run}, digest ${digest}: first byte ${p.firstByteMs}, finish ${p.writeFinishMs}, committed ${p.committedMs}, done ${p.doneMs}`);
    }
  }

  console.log(`\nResume: one download interrupted at about 50 %, then resumed in a new process (Range + If-Range) ...`);
  const resume = await runResume(tmp, server.url, sizeBytes, sourceSha256, server.accessLog);
  if (cleaning !== undefined) return never();
  if (!resume.ok) {
    failed = true;
    console.log(`  FAILED: ${resume.error}`);
  } else {
    console.log(
      `  interrupted with ${resume.stoppedAtBytes} bytes kept (${((100 * resume.stoppedAtBytes) / sizeBytes).toFixed(1)} %); resumed file intact (sha256 matches)`,
    );
    console.log(
      resume.servedRatio === null
        ? '  bytes served: not measured (the node origin keeps no access log)'
        : `  bytes the origin served in total: ${resume.servedBytes} = ${resume.servedRatio.toFixed(4)} × the file size (target ≤ 1.05)`,
    );
  }

  let worker;
  if (onPath('redis-server', ['--version']) === null || !existsSync(LAUNCHER_MAIN)) {
    console.log(`\nWorker: not measured (${existsSync(LAUNCHER_MAIN) ? 'redis-server is not on PATH' : 'run `npm run build` first'})`);
  } else {
    console.log(
      `\nWorker: ${WORKER_DOWNLOADS} copies of the file at once, asked over HTTP of the stack \`npm start\` runs (private redis-server, API, worker) ...`,
    );
    worker = await runWorker(tmp, server.url, sizeBytes, sourceSha256, WORKER_DOWNLOADS, await freePort());
    if (cleaning !== undefined) return never();
    if (!worker.ok) {
      failed = true;
      console.log(`  FAILED: ${worker.error}`);
    } else {
      console.log(
        `  all ${WORKER_DOWNLOADS} completed with the source's sha256 in ${(worker.spanMs / 1000).toFixed(2)} s (first accepted to last finished, ${mbps(WORKER_DOWNLOADS * sizeBytes, worker.spanMs).toFixed(1)} MB/s in all)`,
      );
      console.log(`  the worker process's peak RSS: ${format(worker.peakRssMB, 1)} MB`);
    }
  }

  const m = medianRow;
  console.log('\nAgainst the targets (medians):');
  console.log(`  digest off / curl:       ${format(m.ratioOffCurl, 3)} (target ≥ 1.0)`);
  console.log(
    `  digest on / raw sha256:  ${format(m.ratioOnSha256, 3)} (target ≥ 0.9; the C pipeline doing the same work: ${peers.pipe ? format(m.ratioPipeSha256, 3) : 'not run'})`,
  );
  console.log(`  digest on / curl:        ${format(m.ratioOnCurl, 3)}`);
  console.log(
    `  peak RSS MB, worker:     ${worker?.ok ? `${format(worker.peakRssMB, 1)} (target < 150; ${WORKER_DOWNLOADS} downloads at once)` : 'not measured'}`,
  );
  console.log(`  peak RSS MB, engine:     ${format(m.peakRssMB, 1)} (the engine child alone, one download)`);
  console.log(`  resume, served / size:   ${resume.ok && resume.servedRatio !== null ? resume.servedRatio.toFixed(4) : 'not measured'} (target ≤ 1.05)`);
  if (peers.pipe) console.log(`  digest on / (curl | tee | openssl):  ${format(m.ratioOnPipe, 3)}`);
  if (peers.aria2) {
    console.log(`  digest off / aria2c:                 ${format(m.ratioOffAria2, 3)}`);
    console.log(`  digest on / aria2c --checksum:       ${format(m.ratioOnAria2Sha, 3)}`);
  }
  console.log('');

  const digits = (row) => Object.fromEntries(Object.entries(row).map(([k, v]) => [k, typeof v === 'number' ? round(v, k.startsWith('ratio') ? 4 : 1) : v]));
  console.log(
    JSON.stringify({
      bench: 'download-vs-curl',
      date: new Date().toISOString(),
      origin: server.label,
      sizeBytes,
      mbUnit: 1e6,
      node: process.version,
      engineNodeFlags,
      cpus: os.cpus().length,
      sourceSha256,
      failed,
      runs: rows.map(digits),
      median: digits(medianRow),
      worker:
        worker === undefined
          ? null
          : worker.ok
            ? { downloads: WORKER_DOWNLOADS, peakRssMB: round(worker.peakRssMB, 1), spanMs: round(worker.spanMs, 0) }
            : { failed: worker.error },
      resume: resume.ok
        ? { stoppedAtBytes: resume.stoppedAtBytes, servedBytes: resume.servedBytes, servedRatio: round(resume.servedRatio, 4) }
        : { failed: resume.error },
    }),
  );
  return failed ? 1 : 0;
}

let exitCode = 1;
try {
  exitCode = await main();
} catch (err) {
  console.error(`download-vs-curl: ${err.stack ?? err}`);
} finally {
  await cleanup();
}
process.exit(exitCode);
