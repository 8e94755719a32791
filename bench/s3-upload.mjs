// Ferry's engine storing into S3, against `curl | aws s3 cp -` doing the same work: one file from a local
// origin into a local S3 server (s3rver), in the same run.
// Usage (from the repo root, after `npm run build`):
//   node bench/s3-upload.mjs [--size-mib 1024] [--part-mib 8] [--parts-in-flight 2] [--part-buffers 4] [--copies 4] [--sdk-checksums] [--node-flag <flag>]...
//   --sdk-checksums also runs Ferry through a client at the SDK's checksum defaults (WHEN_SUPPORTED), in the same run.
// Prints figures only; exits non-zero only when a transfer fails or a checksum does not match.
import { spawn } from 'node:child_process';
import { createReadStream } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import http from 'node:http';
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { peakRssMB } from './peak-rss.mjs';
import { sha256OfFile, writeRandomFile } from './random-file.mjs';

const MIB = 1024 * 1024;
const MB = 1e6;
const BENCH_DIR = path.dirname(fileURLToPath(import.meta.url));
const ENGINE_CHILD = path.join(BENCH_DIR, 'engine-child.mjs');
const WORKER_FLAGS_MODULE = path.join(BENCH_DIR, '..', 'apps', 'worker', 'dist', 'node-flags.js');
const BUCKET = 'bench';
// s3rver's own pair; it checks signatures against it.
const CREDENTIALS = { AWS_ACCESS_KEY_ID: 'S3RVER', AWS_SECRET_ACCESS_KEY: 'S3RVER', AWS_DEFAULT_REGION: 'us-east-1' };

const { values } = parseArgs({
  options: {
    'size-mib': { type: 'string', default: '1024' },
    'part-mib': { type: 'string', default: '8' },
    'parts-in-flight': { type: 'string', default: '2' },
    // The part buffers all downloads of the engine process share (S3Storage's partBuffers).
    'part-buffers': { type: 'string', default: '4' },
    copies: { type: 'string', default: '4' },
    'sdk-checksums': { type: 'boolean', default: false },
    // After the worker's own flags, for every engine child: e.g. --node-flag=--cpu-prof --node-flag=--cpu-prof-dir=/tmp/prof
    'node-flag': { type: 'string', multiple: true, default: [] },
  },
});
const sizeBytes = Number(values['size-mib']) * MIB;
const partSize = Number(values['part-mib']) * MIB;
const copies = Number(values.copies);
const partsInFlight = Number(values['parts-in-flight']);
const partBuffers = Number(values['part-buffers']);

/** Runs a command to its end; resolves with its stdout and wall time, rejects on a non-zero exit. */
function run(command, args, env = {}) {
  return new Promise((resolve, reject) => {
    const started = performance.now();
    const child = spawn(command, args, { env: { ...process.env, ...CREDENTIALS, ...env }, stdio: ['ignore', 'pipe', 'inherit'] });
    let stdout = '';
    child.stdout.on('data', (chunk) => (stdout += chunk));
    child.on('error', reject);
    child.on('exit', (code) => (code === 0 ? resolve({ stdout, wallMs: performance.now() - started }) : reject(new Error(`${command} exited with ${code}`))));
  });
}

/** The origin: a Node http server streaming the file, the same for Ferry and for curl. */
function serve(file) {
  const server = http.createServer((req, res) => {
    res.writeHead(200, { 'content-length': sizeBytes, etag: '"bench"', 'content-type': 'application/octet-stream' });
    createReadStream(file, { highWaterMark: MIB }).pipe(res);
  });
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve(server)));
}

/** s3rver in a process of its own, so neither the origin nor the uploader shares its event loop. */
async function startS3(directory) {
  const require = createRequire(path.join(BENCH_DIR, '..', 'packages', 'storage', 'package.json'));
  const script = `const S3rver = require(${JSON.stringify(require.resolve('s3rver'))});
new S3rver({ address: '127.0.0.1', port: 0, silent: true, directory: ${JSON.stringify(directory)}, configureBuckets: [{ name: '${BUCKET}' }] })
  .run().then(({ port }) => console.log(port));`;
  const child = spawn(process.execPath, ['-e', script], { stdio: ['ignore', 'pipe', 'inherit'] });
  const port = await new Promise((resolve, reject) => {
    child.stdout.once('data', (chunk) => resolve(Number(String(chunk).trim())));
    child.once('exit', (code) => reject(new Error(`s3rver exited with ${code}`)));
  });
  return { endpoint: `http://127.0.0.1:${port}`, pid: child.pid, stop: () => child.kill('SIGTERM') };
}

/** Where s3rver keeps an object's bytes: read there, the check needs no S3 client of either side. */
const objectPath = (directory, key) => {
  const parts = key.split('/');
  return path.join(directory, BUCKET, ...parts.slice(0, -1), `${parts.at(-1)}._S3rver_object`);
};

const dir = await mkdtemp(path.join(os.tmpdir(), 'ferry-bench-s3-'));
const s3dir = path.join(dir, 's3');
let origin;
let s3;
try {
  const source = path.join(dir, 'source.bin');
  console.log(`writing ${values['size-mib']} MiB of random bytes…`);
  const sha256 = await writeRandomFile(source, sizeBytes);
  origin = await serve(source);
  const url = `http://127.0.0.1:${origin.address().port}/source.bin`;
  s3 = await startS3(s3dir);
  const { WORKER_NODE_FLAGS } = await import(WORKER_FLAGS_MODULE);
  const engine = ({ sdkChecksums, ...options }) =>
    run(process.execPath, [
      ...WORKER_NODE_FLAGS,
      ...values['node-flag'],
      ENGINE_CHILD,
      url,
      dir,
      JSON.stringify({ s3: { endpoint: s3.endpoint, bucket: BUCKET, partSize, partsInFlight, partBuffers, sdkChecksums }, ...options }),
    ]);

  // The peer: curl's bytes piped into the awscli's streaming multipart upload (8 MiB parts, its default).
  const peer = await run('sh', ['-c', `curl -sS "$URL" | aws --endpoint-url "$ENDPOINT" s3 cp --quiet - s3://${BUCKET}/peer/source.bin`], {
    URL: url,
    ENDPOINT: s3.endpoint,
  });
  const peerOk = (await sha256OfFile(objectPath(s3dir, 'peer/source.bin'))) === sha256;

  const ferryRun = await engine({});
  const ferry = JSON.parse(ferryRun.stdout.trim().split('\n').at(-1));
  const ferryOk = ferry.sha256 === sha256 && (await sha256OfFile(objectPath(s3dir, 'bench/source.bin'))) === sha256;

  const sdkRun = values['sdk-checksums'] ? await engine({ sdkChecksums: true }) : undefined;
  const sdk = sdkRun === undefined ? undefined : JSON.parse(sdkRun.stdout.trim().split('\n').at(-1));

  const many = JSON.parse((await engine({ copies })).stdout.trim().split('\n').at(-1));

  const rate = (ms) => sizeBytes / MB / (ms / 1000);
  console.log(
    `file: ${values['size-mib']} MiB, Ferry part size ${values['part-mib']} MiB × ${partsInFlight} in flight, ${partBuffers} part buffers shared, s3rver at ${s3.endpoint}`,
  );
  console.log(`curl | aws s3 cp -   ${rate(peer.wallMs).toFixed(1)} MB/s  (${(peer.wallMs / 1000).toFixed(1)} s, object sha256 ${peerOk ? 'ok' : 'WRONG'})`);
  console.log(
    `Ferry engine → S3    ${rate(ferryRun.wallMs).toFixed(1)} MB/s  (${(ferryRun.wallMs / 1000).toFixed(1)} s wall, ${(ferry.elapsedMs / 1000).toFixed(1)} s in downloadToStorage, CPU ${(ferry.cpuMs / 1000).toFixed(1)} s, sha256 ${ferryOk ? 'ok' : 'WRONG'}, peak RSS ${ferry.peakRssMB.toFixed(0)} MB)`,
  );
  // The peer's wall time holds awscli's start (Python, botocore); Ferry's in-engine time holds no process start.
  console.log(
    `ratio Ferry / peer   ${(peer.wallMs / ferryRun.wallMs).toFixed(2)}× by wall time of each process, ${(peer.wallMs / ferry.elapsedMs).toFixed(2)}× with Ferry's time in downloadToStorage (target ≥ 0.9×)`,
  );
  if (sdk !== undefined) {
    console.log(
      `Ferry, SDK checksums ${rate(sdkRun.wallMs).toFixed(1)} MB/s  (${(sdk.elapsedMs / 1000).toFixed(1)} s in downloadToStorage, CPU ${(sdk.cpuMs / 1000).toFixed(1)} s against Ferry's ${(ferry.cpuMs / 1000).toFixed(1)} s, sha256 ${sdk.sha256 === sha256 ? 'ok' : 'WRONG'}): ratio to peer ${(peer.wallMs / sdkRun.wallMs).toFixed(2)}× by wall time`,
    );
  }
  const { writeFinishMs, committedMs } = ferry.phases;
  // From the last byte into the upload to the object under its final key: completing the upload, then publishing it.
  console.log(
    `  of which publishing  ${((committedMs - writeFinishMs) / 1000).toFixed(1)} s (CompleteMultipartUpload: s3rver joins the parts into one file, the peer waits for the same)`,
  );
  console.log(
    `${copies} downloads at once in one engine process: peak RSS ${many.peakRssMB.toFixed(0)} MB (target < 200 MB), ${((sizeBytes * copies) / MB / (many.elapsedMs / 1000)).toFixed(1)} MB/s in all`,
  );
  console.log(`this script's own peak RSS (origin): ${peakRssMB()?.toFixed(0)} MB`);
  if (!peerOk || !ferryOk) process.exitCode = 1;
} finally {
  origin?.close();
  s3?.stop();
  await rm(dir, { recursive: true, force: true });
}
