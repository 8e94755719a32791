// One Ferry download, measured in its own process so that its peak RSS is Ferry's alone.
// Usage: node bench/engine-child.mjs <url> <storage-dir> [options-json]
//   options-json: {"stopAtBytes": N} interrupts the download once N bytes arrived, as a worker shutting down
//   would, and prints the checkpoint it leaves; {"resumeFrom": checkpoint} resumes from one;
//   {"digest": "off"} skips the engine's sha256 (skipSha256), so the result's sha256 is empty;
//   {"s3": {"endpoint", "bucket", "partSize", "partsInFlight", "partBuffers"}} stores in that bucket (S3Storage, credentials from the AWS
//   chain) instead of <storage-dir>, with "sdkChecksums": true through a client left at the SDK's checksum defaults
//   (a CRC32 per part, checked GETs) rather than Ferry's; {"copies": N} runs N downloads of the URL at once and prints the last;
//   {"segments": N} fetches in N segments when the origin allows (any size).
// Prints one JSON line on stdout: { bytes, sha256, elapsedMs, cpuMs, peakRssMB, location, phases } or { stopped, checkpoint }.
// Exits 1 (message on stderr) if the download fails.
import { loadConfig } from '../packages/core/dist/index.js';
import { downloadToStorage, EgressPolicy, HttpAgents, resolveTimeouts } from '../packages/engine/dist/index.js';
import { LocalDiskStorage } from '../packages/storage/dist/index.js';
import { S3Storage } from '../packages/storage/dist/s3/index.js';
import { peakRssMB } from './peak-rss.mjs';

const s3Client = async ({ endpoint, sdkChecksums }) => {
  const options = { endpoint, region: 'us-east-1', forcePathStyle: true };
  if (sdkChecksums !== true) return options;
  const { S3Client } = await import('@aws-sdk/client-s3');
  return new S3Client(options);
};

const [url, storageDir, optionsJson] = process.argv.slice(2);
const { stopAtBytes, resumeFrom, digest = 'on', s3, copies = 1, segments = 1 } = JSON.parse(optionsJson ?? '{}');
if (url === undefined || storageDir === undefined) {
  process.stderr.write('usage: node bench/engine-child.mjs <url> <storage-dir>\n');
  process.exit(2);
}

/**
 * LocalDiskStorage, plus timestamps of the moment the part's last byte was written
 * (flush) and of the end of commit (fsync, link, directory fsync). The engine itself
 * is untouched: this only listens.
 */
function timedStorage(storage, marks) {
  return {
    resumesFromSavedDigests: storage.resumesFromSavedDigests,
    resumePart: (...args) => storage.resumePart(...args),
    // Segments are not timed: `phases` is for one connection.
    openOffsetPart: storage.openOffsetPart?.bind(storage),
    listParts: () => storage.listParts(),
    removePart: (name) => storage.removePart(name),
    openStored: (ref) => storage.openStored(ref),
    async openPart(...args) {
      const part = await storage.openPart(...args);
      const { flush, commit } = part;
      part.flush = async () => {
        await flush.call(part);
        marks.finish = performance.now();
      };
      part.commit = async (...args) => {
        const stored = await commit.apply(part, args);
        marks.close = performance.now();
        return stored;
      };
      return part;
    },
  };
}

function cpuMsSince(before) {
  const { user, system } = process.cpuUsage(before);
  return (user + system) / 1000;
}

const abort = new AbortController();
for (const signal of ['SIGINT', 'SIGTERM']) process.once(signal, () => abort.abort(new Error(`${signal} received`)));

// The benchmark's origin is on this machine: allow exactly its address and port.
const origin = new URL(url);
const agents = new HttpAgents(new EgressPolicy({ allowCidrs: [`${origin.hostname}/32`], allowPorts: [Number(origin.port)] }));
const timeouts = resolveTimeouts(undefined, loadConfig({}).http);
const marks = {};
const storage = timedStorage(
  s3 === undefined
    ? new LocalDiskStorage(storageDir)
    : new S3Storage({ client: await s3Client(s3), bucket: s3.bucket, partSize: s3.partSize, partsInFlight: s3.partsInFlight, partBuffers: s3.partBuffers }),
  marks,
);
let checkpoint;
const cpuBefore = process.cpuUsage();
const started = performance.now();
let exitCode = 0;
try {
  const download = (copy) =>
    downloadToStorage(
      { url },
      {
        jobId: copy === 0 ? 'bench' : `bench-${copy}`,
        attempt: resumeFrom === undefined ? 1 : 2,
        resumeFrom,
        signal: abort.signal,
        agents,
        timeouts,
        storage,
        // A namespace per copy: copies racing for one name would be a conflict, not what this measures.
        namespace: copy === 0 ? 'bench' : `bench-${copy}`,
        skipSha256: digest === 'off',
        segments,
        segmentMinBytes: 1,
        // The engine reports at most every PROGRESS_INTERVAL_MS; the first call marks the first body chunk.
        onProgress: (progress) => {
          marks.firstByte ??= performance.now();
          checkpoint = progress.checkpoint ?? checkpoint;
          if (stopAtBytes !== undefined && progress.receivedBytes >= stopAtBytes && !abort.signal.aborted) abort.abort(new Error('stopped by the benchmark'));
        },
      },
    );
  const results = await Promise.all(Array.from({ length: copies }, (_, copy) => download(copy)));
  const result = results.at(-1);
  const ended = performance.now();
  const since = (mark) => (mark === undefined ? null : Math.round(mark - started));
  process.stdout.write(
    `${JSON.stringify({
      bytes: result.bytes,
      sha256: result.sha256,
      elapsedMs: ended - started,
      // CPU time of every thread of the process during the call: what the download costs on a busy machine.
      cpuMs: cpuMsSince(cpuBefore),
      peakRssMB: peakRssMB(),
      location: result.location,
      // Milliseconds from the start of downloadToStorage.
      phases: { firstByteMs: since(marks.firstByte), writeFinishMs: since(marks.finish), committedMs: since(marks.close), doneMs: since(ended) },
    })}\n`,
  );
} catch (err) {
  if (stopAtBytes !== undefined && err.code === 'FERRY_ERR_ABORTED' && checkpoint !== undefined) {
    // Interrupted on purpose: the engine kept the bytes and reported where a resume can start.
    process.stdout.write(`${JSON.stringify({ stopped: true, checkpoint, peakRssMB: peakRssMB() })}\n`);
  } else {
    process.stderr.write(`engine-child: ${err.code ?? err.name}: ${err.message}\n`);
    exitCode = 1;
  }
} finally {
  await agents.close();
}
process.exitCode = exitCode;
