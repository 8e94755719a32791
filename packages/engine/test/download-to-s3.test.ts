import { createHash, randomBytes, randomUUID } from 'node:crypto';
import { HeadObjectCommand } from '@aws-sdk/client-s3';
import { DownloadRequest, FerryError } from '@ferry/contract';
import { type Checkpoint, type PartWriter, type ResumePoint, type Storage } from '@ferry/storage';
import { S3Storage } from '@ferry/storage/s3';
import { startS3Server, type S3TestServer } from '@ferry/storage/test-support/s3-server';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { downloadToStorage, type DownloadContext } from '../src/engine.js';
import { EgressPolicy } from '../src/egress/address-policy.js';
import { HttpAgents } from '../src/http-client.js';
import type { StoredDownload, WorkerProgress } from '../src/progress.js';
import { downloadContext } from './support/download-context.js';
import { serveRanges } from './support/range-origin.js';
import { ScriptedOrigin, serveBytes } from './support/scripted-origin.js';

const MiB = 1024 * 1024;
const PART_SIZE = 5 * MiB;
const NAMESPACE = 'engine-s3';
const hash = (algorithm: string, bytes: Buffer) => createHash(algorithm).update(bytes).digest('hex');

let origin: ScriptedOrigin;
let agents: HttpAgents;
let server: S3TestServer;
beforeAll(async () => {
  [origin, server] = await Promise.all([ScriptedOrigin.start(), startS3Server()]);
  agents = new HttpAgents(new EgressPolicy({ allowCidrs: ['127.0.0.1/32'], allowPorts: [origin.port] }));
});
afterAll(async () => {
  await origin.close();
  await agents.close();
  await server.close();
});

/** A worker's own storage: each has its own client, the bucket is what they share. */
const workerStorage = () =>
  new S3Storage({
    client: server.createClient(),
    bucket: server.bucket,
    keyPrefix: 'engine/',
    partSize: PART_SIZE,
  });

async function attempt(
  request: Record<string, unknown>,
  storage: Storage,
  options: Partial<DownloadContext> = {},
): Promise<{ result?: StoredDownload; error?: FerryError; checkpoint?: Checkpoint }> {
  const progress: WorkerProgress[] = [];
  const ctx = downloadContext({ jobId: 'job-s3', agents, storage, namespace: NAMESPACE, ...options, onProgress: (report) => progress.push(report) });
  try {
    return { result: await downloadToStorage(DownloadRequest.parse(request), ctx) };
  } catch (err) {
    if (!(err instanceof FerryError)) throw err;
    return { error: err, checkpoint: progress.findLast((report) => report.checkpoint !== undefined)?.checkpoint };
  }
}

async function storedSha256(storage: Storage, result: StoredDownload | undefined): Promise<string> {
  if (result === undefined) throw new Error('the download did not complete');
  const opened = await storage.openStored({ namespace: NAMESPACE, location: result.location, version: result.storedVersion, sha256: result.sha256 });
  if (!opened.found) throw new Error(`the stored file is ${opened.why}`);
  const sha = createHash('sha256');
  for await (const chunk of opened.reader.stream()) sha.update(chunk as Buffer);
  return sha.digest('hex');
}

/**
 * A worker killed right after its last progress report: it keeps nothing and
 * removes nothing, and the checkpoint is the part's resume point at that moment.
 * The parts it was sending reach the server (as if it died just after), but
 * before the next worker starts: a dead worker sends nothing later.
 */
function killedWorker(inner: Storage): { storage: Storage; lastPoint(): ResumePoint | undefined } {
  let last: PartWriter | undefined;
  let point: ResumePoint | undefined;
  const dying = (part: PartWriter): PartWriter => {
    last = part;
    part.keep = async () => {
      point = part.resumePoint();
      await part.flush();
      throw new Error('killed');
    };
    part.discard = () => Promise.resolve();
    return part;
  };
  return {
    lastPoint: () => point ?? last?.resumePoint(),
    storage: {
      resumesFromSavedDigests: inner.resumesFromSavedDigests,
      openPart: async (...args) => dying(await inner.openPart(...args)),
      resumePart: (...args) => inner.resumePart(...args),
      listParts: () => inner.listParts(),
      removePart: (name) => inner.removePart(name),
      openStored: (ref) => inner.openStored(ref),
    },
  };
}

describe('downloading into S3', () => {
  it('stores a file of several upload parts with the sha256 and the requested digest of every byte', async () => {
    const bytes = randomBytes(12 * MiB + 5);
    const storage = workerStorage();
    const url = origin.route('/s3/whole.bin', serveBytes(bytes, { etag: '"w1"' }));
    const { result } = await attempt({ url, checksum: { algorithm: 'sha512', value: hash('sha512', bytes) } }, storage);
    expect(result).toMatchObject({ bytes: bytes.length, sha256: hash('sha256', bytes), location: `s3://${server.bucket}/engine/${NAMESPACE}/whole.bin` });
    expect(await storedSha256(storage, result)).toBe(hash('sha256', bytes));
    expect(await storage.listParts()).toEqual([]);
  });

  it("uses one connection with the workers' segments on, from an origin that takes ranges: S3 cannot write a part at offsets", async () => {
    const bytes = randomBytes(6 * MiB);
    const url = origin.route('/s3/ranges.bin', serveRanges(bytes, { etag: '"r1"' }));
    const { result } = await attempt({ url }, workerStorage(), { segments: 4, segmentMinBytes: MiB });
    expect(result?.sha256).toBe(hash('sha256', bytes));
    expect(origin.exchanges('/s3/ranges.bin')).toHaveLength(1);
  });

  it("stores the origin's Content-Type with the object, sent in one PUT or in upload parts", async () => {
    const storage = workerStorage();
    for (const [name, size, type] of [
      ['typed.txt', 100, 'text/plain; charset=utf-8'],
      ['typed.mp4', 6 * MiB, 'video/mp4'],
    ] as const) {
      const url = origin.route(`/s3/${name}`, serveBytes(randomBytes(size), { headers: { 'content-type': type } }));
      const { result } = await attempt({ url }, storage);
      const key = result!.location.slice(`s3://${server.bucket}/`.length);
      const head = await server.createClient().send(new HeadObjectCommand({ Bucket: server.bucket, Key: key }));
      expect(head.ContentType).toBe(type);
    }
  });

  it('continues a kept upload on another worker from the saved digests, fetching only the rest', async () => {
    const bytes = randomBytes(16 * MiB);
    const route = '/s3/kept.bin';
    const url = origin.route(route, serveBytes(bytes, { etag: '"k1"', closeAfterBytes: 7 * MiB }), serveBytes(bytes, { etag: '"k1"' }));
    const request = { url, checksum: { algorithm: 'md5', value: hash('md5', bytes) } };
    const first = await attempt(request, workerStorage());
    expect(first.error).toMatchObject({ code: 'FERRY_ERR_TRUNCATED' });
    // Kept: the whole upload part and the bytes after it, in the part's marker.
    expect(first.checkpoint?.bytes).toBeGreaterThan(PART_SIZE);
    expect(first.checkpoint?.digests).toBeDefined();

    const other = workerStorage();
    const { result } = await attempt(request, other, { attempt: 2, resumeFrom: first.checkpoint });
    expect(result).toMatchObject({ bytes: bytes.length, sha256: hash('sha256', bytes), digest: { algorithm: 'md5', value: hash('md5', bytes) } });
    expect(await storedSha256(other, result)).toBe(hash('sha256', bytes));
    const [cut, rest] = origin.exchanges(route);
    expect(rest?.headers.range).toBe(`bytes=${first.checkpoint!.bytes}-`);
    expect(cut!.bodyBytesSent + rest!.bodyBytesSent).toBeLessThanOrEqual(bytes.length + MiB);
    expect(await other.listParts()).toEqual([]);
  });

  it('continues after a worker was killed from its whole uploaded parts, fetching again at most the parts it held in memory', async () => {
    const bytes = randomBytes(24 * MiB);
    const route = '/s3/killed.bin';
    const url = origin.route(route, serveBytes(bytes, { etag: '"x1"', closeAfterBytes: 20 * MiB }), serveBytes(bytes, { etag: '"x1"' }));
    const dead = killedWorker(workerStorage());
    const first = await attempt({ url }, dead.storage, { jobId: `job-${randomUUID()}` });
    expect(first.error).toBeDefined();
    const point = dead.lastPoint()!;
    // Only whole upload parts: what was still in memory is lost with the worker. It holds at most three
    // parts (two sent, one filling) before it stops reading, so of 20 MiB received one part at least is done.
    expect(point.state).toMatchObject({ tail: 0 });
    expect(point.bytes).toBeGreaterThanOrEqual(PART_SIZE);

    const other = workerStorage();
    const resumeFrom = { ...point, validator: '"x1"', totalBytes: bytes.length };
    const { result } = await attempt({ url }, other, { attempt: 2, resumeFrom });
    expect(result).toMatchObject({ bytes: bytes.length, sha256: hash('sha256', bytes) });
    expect(await storedSha256(other, result)).toBe(hash('sha256', bytes));
    const [cut, rest] = origin.exchanges(route);
    expect(cut!.bodyBytesSent + rest!.bodyBytesSent).toBeLessThanOrEqual(bytes.length + 3 * PART_SIZE + MiB);
    expect(await other.listParts()).toEqual([]);
  });

  it.each([
    ['cancelled mid-download', 'FERRY_ERR_CANCELLED'],
    ['over maxBytes without Content-Length', 'FERRY_ERR_TOO_LARGE'],
    ['of the wrong checksum', 'FERRY_ERR_CHECKSUM_MISMATCH'],
  ])('leaves no object and no upload when a download is %s', async (_why, code) => {
    const bytes = randomBytes(14 * MiB);
    const filename = `${code.toLowerCase()}.bin`;
    const url = origin.route(
      `/s3/${filename}`,
      serveBytes(bytes, { etag: '"e1"', chunked: code === 'FERRY_ERR_TOO_LARGE', ...(code === 'FERRY_ERR_CANCELLED' ? { bytesPerSecond: 16 * MiB } : {}) }),
    );
    const cancel = new AbortController();
    const storage = workerStorage();
    const request = {
      url,
      filename,
      ...(code === 'FERRY_ERR_TOO_LARGE' ? { maxBytes: 12 * MiB } : {}),
      ...(code === 'FERRY_ERR_CHECKSUM_MISMATCH' ? { checksum: { algorithm: 'sha256', value: hash('sha256', Buffer.from('other')) } } : {}),
    };
    const progress: WorkerProgress[] = [];
    const run = downloadToStorage(
      DownloadRequest.parse(request),
      downloadContext({
        agents,
        storage,
        namespace: NAMESPACE,
        signal: cancel.signal,
        onProgress: (report) => {
          progress.push(report);
          // Past the first upload part, so there is an upload to abort; the origin's pace keeps the rest from arriving first.
          if (code === 'FERRY_ERR_CANCELLED' && report.receivedBytes > PART_SIZE + MiB)
            cancel.abort(new FerryError('FERRY_ERR_CANCELLED', 'cancelled by the test'));
        },
      }),
    );
    await expect(run).rejects.toMatchObject({ code });
    if (code === 'FERRY_ERR_CANCELLED') expect(progress.at(-1)!.receivedBytes).toBeLessThan(bytes.length);
    const key = `engine/${NAMESPACE}/${filename}`;
    await expect(server.createClient().send(new HeadObjectCommand({ Bucket: server.bucket, Key: key }))).rejects.toMatchObject({ name: 'NotFound' });
    expect(await storage.listParts()).toEqual([]);
  });

  it('starts from zero when the checkpoint carries no saved digests, rather than leave bytes unhashed', async () => {
    const bytes = randomBytes(8 * MiB);
    const route = '/s3/no-digests.bin';
    const url = origin.route(route, serveBytes(bytes, { etag: '"n1"', closeAfterBytes: 6 * MiB }), serveBytes(bytes, { etag: '"n1"' }));
    const first = await attempt({ url }, workerStorage(), { jobId: 'job-no-digests' });
    const withoutDigests = { ...first.checkpoint!, digests: undefined };
    const storage = workerStorage();
    const { result } = await attempt({ url }, storage, { attempt: 2, jobId: 'job-no-digests', resumeFrom: withoutDigests });
    expect(result).toMatchObject({ bytes: bytes.length, sha256: hash('sha256', bytes) });
    expect(origin.exchanges(route)).toHaveLength(3);
    expect(origin.exchanges(route)[2]?.headers.range).toBeUndefined();
    await storage.removePart(first.checkpoint!.part);
  });
});
