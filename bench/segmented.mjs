// Segmented downloads against aria2c -xN -sN, in one run, on one machine.
// Usage: npm run build && node bench/segmented.mjs [--size-mib 1024] [--segments 4] [--rate-mbps 20] [--runs limited,unlimited,rss]
// An origin in its own process serves one random file with Accept-Ranges and a strong ETag, each connection
// limited to --rate-mbps MB/s (10^6 bytes); a second port serves it unlimited. Measured:
//   limited origin:   Ferry's engine with N segments, and aria2c -xN -sN (target: Ferry >= 0.9 x N x rate, >= 1.0 x aria2c),
//                     also with --checksum=sha-256 (aria2c hashes nothing by default; Ferry always computes the sha256)
//   unlimited origin: Ferry allowed N segments, and with one connection (target: no slower; each line says how
//                     many requests the download made, 1 when its first connection was fast enough not to split)
//   rss:              peak RSS of one process running 4 segmented downloads of the file at once (bench/engine-child.mjs;
//                     target < 150 MB), from the limited origin (from the unlimited one nothing is split)
// Each Ferry line also gives the CPU seconds of this process during the download (all threads).
// Every output is checked by sha256 after its run (outside the timing).
import { spawn } from 'node:child_process';
import { mkdtemp, rm, stat } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { loadConfig } from '../packages/core/dist/index.js';
import { DownloadRequest } from '../packages/contract/dist/index.js';
import { downloadToStorage, EgressPolicy, HttpAgents, resolveTimeouts } from '../packages/engine/dist/index.js';
import { LocalDiskStorage } from '../packages/storage/dist/index.js';
import { sha256OfFile, writeRandomFile } from './random-file.mjs';

const here = path.dirname(new URL(import.meta.url).pathname);

const { values } = parseArgs({
  options: {
    'size-mib': { type: 'string', default: '1024' },
    segments: { type: 'string', default: '4' },
    'rate-mbps': { type: 'string', default: '20' },
    runs: { type: 'string', default: 'limited,unlimited,rss' },
  },
});
const sizeBytes = Number(values['size-mib']) * 1024 * 1024;
const segments = Number(values.segments);
const rate = Number(values['rate-mbps']) * 1e6;
const runs = new Set(values.runs.split(','));

// The origin: a child process, so serving costs no CPU of the process measured.
const ORIGIN = `
const http = require('node:http');
const fs = require('node:fs');
const [file, rate] = [process.argv[1], Number(process.argv[2])];
const size = fs.statSync(file).size;
const CHUNK = 64 * 1024;
let requests = 0;
function serve(limit) {
  return http.createServer((req, res) => {
    // How many requests the last download made, counted since the previous ask: 1 means it was never split.
    if (req.url === '/requests') { res.end(String(requests)); requests = 0; return; }
    requests += 1;
    const m = /^bytes=(\\d+)-(\\d*)$/.exec(req.headers.range || '');
    const ifRange = req.headers['if-range'];
    const ranged = m !== null && (ifRange === undefined || ifRange === '"bench"');
    const first = ranged ? Number(m[1]) : 0;
    const last = ranged && m[2] !== '' ? Math.min(Number(m[2]), size - 1) : size - 1;
    const headers = { 'content-length': String(last - first + 1), 'accept-ranges': 'bytes', etag: '"bench"', 'content-type': 'application/octet-stream' };
    if (ranged) headers['content-range'] = 'bytes ' + first + '-' + last + '/' + size;
    res.writeHead(ranged ? 206 : 200, headers);
    const stream = fs.createReadStream(file, { start: first, end: last, highWaterMark: CHUNK });
    if (limit === 0) { stream.pipe(res); return; }
    const started = Date.now();
    let sent = 0;
    stream.on('data', (chunk) => {
      sent += chunk.length;
      const ok = res.write(chunk);
      const wait = Math.max(0, started + (sent / limit) * 1000 - Date.now());
      if (!ok || wait > 0) { stream.pause(); const go = () => setTimeout(() => stream.resume(), wait); ok ? go() : res.once('drain', go); }
    });
    stream.on('end', () => res.end());
    res.on('close', () => stream.destroy());
  });
}
const limited = serve(rate).listen(0, '127.0.0.1', () => {
  const unlimited = serve(0).listen(0, '127.0.0.1', () => process.stdout.write(JSON.stringify({ limited: limited.address().port, unlimited: unlimited.address().port }) + '\\n'));
});
`;

function startOrigin(file) {
  const child = spawn(process.execPath, ['-e', ORIGIN, file, String(rate)], { stdio: ['ignore', 'pipe', 'inherit'] });
  return new Promise((resolve, reject) => {
    child.stdout.once('data', (line) => resolve({ child, ports: JSON.parse(String(line)) }));
    child.once('exit', (code) => reject(new Error(`the origin exited with ${code}`)));
  });
}

/** The requests the origin served since the last call (both ports). */
async function requestsSince(url) {
  return Number(await (await fetch(new URL('/requests', url))).text());
}

async function ferry(url, port, dir, n, expected) {
  await requestsSince(url);
  const storage = new LocalDiskStorage(dir);
  const agents = new HttpAgents(new EgressPolicy({ allowCidrs: ['127.0.0.1/32'], allowPorts: [port] }));
  const timeouts = resolveTimeouts(undefined, loadConfig({}).http);
  const cpuBefore = process.cpuUsage();
  const started = performance.now();
  const result = await downloadToStorage(DownloadRequest.parse({ url, segments: n }), {
    jobId: `bench-${n}-${port}`,
    attempt: 1,
    signal: new AbortController().signal,
    agents,
    timeouts,
    storage,
    namespace: 'bench',
    segments: n,
    segmentMinBytes: 1,
  });
  const seconds = (performance.now() - started) / 1000;
  const { user, system } = process.cpuUsage(cpuBefore);
  await agents.close();
  if (result.sha256 !== expected) throw new Error(`Ferry (${n} segments) reported sha256 ${result.sha256}, expected ${expected}`);
  const requests = await requestsSince(url);
  return { mbps: sizeBytes / 1e6 / seconds, note: `CPU ${((user + system) / 1e6).toFixed(2)} s in ${seconds.toFixed(2)} s, ${requests} request(s)` };
}

/** Four segmented downloads of the file at once in one process, as one worker would run them: its peak RSS. */
async function fourAtOnce(url, dir, n, expected) {
  await requestsSince(url);
  const child = spawn(process.execPath, [path.join(here, 'engine-child.mjs'), url, dir, JSON.stringify({ copies: 4, segments: n })], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  let out = '';
  child.stdout.on('data', (chunk) => (out += chunk));
  const code = await new Promise((resolve) => child.once('exit', resolve));
  if (code !== 0) throw new Error(`engine-child exited with ${code}`);
  const result = JSON.parse(out);
  if (result.sha256 !== expected) throw new Error(`engine-child reported sha256 ${result.sha256}, expected ${expected}`);
  const requests = await requestsSince(url);
  return {
    mbps: (4 * sizeBytes) / 1e6 / (result.elapsedMs / 1000),
    note: `peak RSS ${result.peakRssMB.toFixed(1)} MB, ${requests} requests`,
    peakRssMB: result.peakRssMB,
  };
}

/** aria2c -xN -sN; with `verify`, it also checks the source's sha256 (--checksum), as Ferry always computes one. */
async function aria2(url, dir, n, expected, verify) {
  const started = performance.now();
  const args = [`-x${n}`, `-s${n}`, '--min-split-size=1M', '--file-allocation=none', '--allow-overwrite=true', '--auto-file-renaming=false', '-q'];
  if (verify) args.push(`--checksum=sha-256=${expected}`);
  const child = spawn('aria2c', [...args, '-d', dir, '-o', 'aria2.bin', url], { stdio: 'inherit' });
  const code = await new Promise((resolve) => child.once('exit', resolve));
  const seconds = (performance.now() - started) / 1000;
  if (code !== 0) throw new Error(`aria2c exited with ${code}`);
  const file = path.join(dir, 'aria2.bin');
  if ((await stat(file)).size !== sizeBytes || (await sha256OfFile(file)) !== expected) throw new Error('aria2c wrote other bytes');
  return { mbps: sizeBytes / 1e6 / seconds };
}

const tmp = await mkdtemp(path.join(os.tmpdir(), 'ferry-bench-segmented-'));
const source = path.join(tmp, 'source.bin');
process.stdout.write(`making a ${values['size-mib']} MiB source file… `);
const sha = await writeRandomFile(source, sizeBytes);
console.log('done');
const { child, ports } = await startOrigin(source);
try {
  const limitedUrl = `http://127.0.0.1:${ports.limited}/file.bin`;
  const unlimitedUrl = `http://127.0.0.1:${ports.unlimited}/file.bin`;
  const run = async (name, measure) => {
    const dir = await mkdtemp(path.join(tmp, 'run-'));
    try {
      const measured = await measure(dir);
      console.log(`  ${name.padEnd(44)} ${measured.mbps.toFixed(1).padStart(7)} MB/s  ${measured.note ?? ''}`);
      return measured;
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  };
  console.log(`\n${values['size-mib']} MiB, ${segments} connections; limited origin: ${values['rate-mbps']} MB/s per connection`);
  const ratios = [];
  if (runs.has('limited')) {
    const ferryLimited = await run(`Ferry, ${segments} segments (limited)`, (dir) => ferry(limitedUrl, ports.limited, dir, segments, sha));
    const aria2Limited = await run(`aria2c -x${segments} -s${segments} (limited)`, (dir) => aria2(limitedUrl, dir, segments, sha, false));
    const aria2ShaLimited = await run(`aria2c -x${segments} -s${segments} --checksum=sha-256 (limited)`, (dir) => aria2(limitedUrl, dir, segments, sha, true));
    const ideal = (segments * rate) / 1e6;
    ratios.push(`  Ferry / (N x per-connection rate):   ${(ferryLimited.mbps / ideal).toFixed(3)}  [>= 0.9]`);
    ratios.push(`  Ferry / aria2c -x${segments} -s${segments}:              ${(ferryLimited.mbps / aria2Limited.mbps).toFixed(3)}  [>= 1.0]`);
    ratios.push(`  Ferry / aria2c --checksum=sha-256:   ${(ferryLimited.mbps / aria2ShaLimited.mbps).toFixed(3)}  (both check a sha256)`);
  }
  if (runs.has('unlimited')) {
    // Untimed, both ways first: whichever ran first in this process paid for JIT warm-up and the first
    // connections (at 16 MiB that alone made segmented look 3-5 x slower).
    for (const n of [segments, 1])
      await run(`warm-up, ${n === 1 ? 'one connection' : `${n} segments`} (unlimited)`, (dir) => ferry(unlimitedUrl, ports.unlimited, dir, n, sha));
    const ferryUnlimited = await run(`Ferry, ${segments} segments (unlimited)`, (dir) => ferry(unlimitedUrl, ports.unlimited, dir, segments, sha));
    const ferryOne = await run('Ferry, one connection (unlimited)', (dir) => ferry(unlimitedUrl, ports.unlimited, dir, 1, sha));
    ratios.push(`  unlimited: segmented / one connection: ${(ferryUnlimited.mbps / ferryOne.mbps).toFixed(3)}  [>= 1.0]`);
  }
  if (runs.has('rss')) {
    // From the limited origin: from the unlimited one a download is no longer split (its first connection is fast).
    const four = await run(`4 x Ferry, ${segments} segments at once (limited)`, (dir) => fourAtOnce(limitedUrl, dir, segments, sha));
    ratios.push(`  peak RSS, 4 segmented downloads at once: ${four.peakRssMB.toFixed(1)} MB  [< 150]`);
  }
  console.log('\nratios (targets in brackets)');
  for (const line of ratios) console.log(line);
} finally {
  child.kill();
  await rm(tmp, { recursive: true, force: true });
}
