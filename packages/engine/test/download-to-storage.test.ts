import { createHash, randomBytes } from 'node:crypto';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { gzipSync } from 'node:zlib';
import { DownloadRequest, FerryError } from '@ferry/contract';
import { LocalDiskStorage, type Checkpoint, type PartWriter, type Storage, type StoredReader } from '@ferry/storage';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { downloadToStorage, type DownloadContext } from '../src/engine.js';
import { EgressPolicy } from '../src/egress/address-policy.js';
import { HttpAgents } from '../src/http-client.js';
import type { StoredDownload, WorkerProgress } from '../src/progress.js';
import { downloadContext } from './support/download-context.js';
import { answer, rawResponse, ScriptedOrigin, serveBytes, type ServeOptions } from './support/scripted-origin.js';

const MiB = 1024 * 1024;
const NAMESPACE = 'engine-test';

const sha256 = (bytes: Buffer | string) => createHash('sha256').update(bytes).digest('hex');
const digest = (algorithm: string, bytes: Buffer, encoding: 'hex' | 'base64') => createHash(algorithm).update(bytes).digest(encoding);

let origin: ScriptedOrigin;
let elsewhere: ScriptedOrigin;
let agents: HttpAgents;
beforeAll(async () => {
  [origin, elsewhere] = await Promise.all([ScriptedOrigin.start(), ScriptedOrigin.start()]);
  // Loopback is refused by default; these two ports on it are the only exception.
  agents = new HttpAgents(new EgressPolicy({ allowCidrs: ['127.0.0.1/32'], allowPorts: [origin.port, elsewhere.port] }));
});
afterAll(async () => {
  // Origins first: closing an agent waits for the requests still open on it.
  await Promise.all([origin.close(), elsewhere.close()]);
  await agents.close();
});

let root: string;
let storage: LocalDiskStorage;
beforeEach(async () => {
  root = await mkdtemp(path.join(os.tmpdir(), 'ferry-engine-'));
  storage = new LocalDiskStorage(root);
});
afterEach(() => rm(root, { recursive: true, force: true }));

interface Run {
  readonly progress: WorkerProgress[];
  /** The checkpoint of the last progress report, if it had one. */
  checkpoint(): Checkpoint | undefined;
}

/** One attempt, as a worker would run it, with the progress it reported. */
async function attempt(
  request: Record<string, unknown>,
  options: Partial<Omit<DownloadContext, 'onProgress'>> = {},
): Promise<Run & { result?: StoredDownload; error?: FerryError }> {
  const progress: WorkerProgress[] = [];
  const run: Run = { progress, checkpoint: () => progress.at(-1)?.checkpoint };
  const ctx = downloadContext({ agents, storage, namespace: NAMESPACE, ...options, onProgress: (report) => progress.push(report) });
  try {
    return { ...run, result: await downloadToStorage(DownloadRequest.parse(request), ctx) };
  } catch (err) {
    if (!(err instanceof FerryError)) throw err;
    return { ...run, error: err };
  }
}

async function storedBytes(result: StoredDownload | undefined): Promise<Buffer> {
  if (result === undefined) throw new Error('the download did not complete');
  const opened = await storage.openStored({ namespace: NAMESPACE, location: result.location, version: result.storedVersion, sha256: result.sha256 });
  if (!opened.found) throw new Error(`the stored file is ${opened.why}`);
  return readAll(opened.reader);
}

async function readAll(reader: StoredReader): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of reader.stream()) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

/** Names published in the namespace: none when its directory was never made. */
const published = () => readdir(storage.directoryOf(NAMESPACE)).catch(() => []);
const partsLeft = async () => (await storage.listParts()).map((part) => part.name);

describe('a plain download', () => {
  it('stores exactly the bytes the origin sent, named from the URL, and leaves no part behind', async () => {
    const bytes = randomBytes(3 * MiB + 17);
    const { result, progress } = await attempt({ url: origin.route('/plain/data.bin', serveBytes(bytes, { etag: '"p1"' })) });

    expect(result).toMatchObject({ filename: 'data.bin', bytes: bytes.length, sha256: sha256(bytes), etag: '"p1"', digest: null });
    expect(sha256(await storedBytes(result))).toBe(sha256(bytes));
    expect(progress.at(-1)).toEqual({ receivedBytes: bytes.length, totalBytes: bytes.length });
    expect(origin.exchanges('/plain/data.bin')[0]?.headers['accept-encoding']).toBe('identity');
    expect(await partsLeft()).toEqual([]);
  });

  it('stores a gzip-encoded body as sent, still compressed', async () => {
    const gz = gzipSync(Buffer.alloc(MiB, 'a'));
    const headers = { 'content-type': 'text/plain', 'content-encoding': 'gzip', 'content-length': String(gz.length) };
    const { result } = await attempt({ url: origin.route('/plain/bomb.txt', answer(200, headers, gz)) });
    expect(result).toMatchObject({ bytes: gz.length, sha256: sha256(gz) });
    expect((await storedBytes(result)).equals(gz)).toBe(true);
  });
});

describe('when the request carries a checksum', () => {
  it.each([
    ['sha256', 'hex'],
    ['sha256', 'base64'],
    ['sha512', 'hex'],
    ['sha512', 'base64'],
    ['sha1', 'hex'],
    ['md5', 'base64'],
  ] as const)('completes when a matching %s digest in %s is given', async (algorithm, encoding) => {
    const bytes = randomBytes(70_000);
    const { result } = await attempt({
      url: origin.route(`/digest/${algorithm}-${encoding}`, serveBytes(bytes)),
      checksum: { algorithm, value: digest(algorithm, bytes, encoding) },
    });
    expect(result?.digest).toEqual({ algorithm, value: digest(algorithm, bytes, 'hex') });
    expect(result?.sha256).toBe(sha256(bytes));
  });

  it.each(['sha256', 'sha512', 'sha1', 'md5'] as const)('fails permanently and publishes nothing when a %s digest does not match', async (algorithm) => {
    const bytes = randomBytes(4096);
    const wrong = digest(algorithm, Buffer.from('something else'), 'hex');
    const { error } = await attempt({
      url: origin.route(`/wrong/${algorithm}.bin`, serveBytes(bytes, { etag: '"w"' })),
      checksum: { algorithm, value: wrong },
    });
    expect(error).toMatchObject({ code: 'FERRY_ERR_CHECKSUM_MISMATCH', retryable: false, data: { expected: wrong, actual: digest(algorithm, bytes, 'hex') } });
    expect(await published()).toEqual([]);
    expect(await partsLeft()).toEqual([]);
  });
});

describe('when the body ends early', () => {
  it.each([
    ['shorter than its Content-Length', 'HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n' + 'x'.repeat(40)],
    ['chunked without its terminating chunk', 'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n'],
  ])('fails with a retryable FERRY_ERR_TRUNCATED when the body is %s', async (_case, raw) => {
    const { error } = await attempt({ url: origin.route(`/truncated/${encodeURIComponent(_case)}`, rawResponse(raw)) });
    expect(error).toMatchObject({ code: 'FERRY_ERR_TRUNCATED', retryable: true });
    expect(await published()).toEqual([]);
  });

  it('stores exactly the declared bytes when the origin sends more than its Content-Length', async () => {
    const { result } = await attempt({
      url: origin.route('/long.txt', rawResponse('HTTP/1.1 200 OK\r\nContent-Length: 10\r\nConnection: close\r\n\r\n0123456789EXTRA-GARBAGE')),
    });
    expect(result).toMatchObject({ bytes: 10, sha256: sha256('0123456789') });
  });

  it('keeps the bytes it received for a resume when the origin gave a validator', async () => {
    const bytes = randomBytes(4 * MiB);
    const { error, checkpoint } = await attempt({ url: origin.route('/cut/kept.bin', serveBytes(bytes, { etag: '"k1"', closeAfterBytes: MiB })) });
    expect(error).toMatchObject({ code: 'FERRY_ERR_TRUNCATED', retryable: true });
    expect(checkpoint()).toMatchObject({ validator: '"k1"', totalBytes: bytes.length });
    expect(checkpoint()!.bytes).toBeGreaterThan(0);
    expect(checkpoint()!.bytes).toBeLessThanOrEqual(MiB);
    expect(await partsLeft()).toEqual([checkpoint()!.part]);
  });
});

/** A storage that does what `inner` does, but for the methods `overrides` replaces. */
function delegating(inner: Storage, overrides: Partial<Storage>): Storage {
  return {
    openPart: (jobId, n) => inner.openPart(jobId, n),
    resumePart: (...args) => inner.resumePart(...args),
    listParts: () => inner.listParts(),
    removePart: (name) => inner.removePart(name),
    openStored: (ref) => inner.openStored(ref),
    ...overrides,
  };
}

/** Wraps a storage so that the most bytes ever handed to one part can be read back. */
function measuringStorage(inner: Storage): { storage: Storage; largestPart(): number } {
  let largest = 0;
  const measured = (part: PartWriter): PartWriter => {
    let handed = part.bytesWritten();
    const write = part.write.bind(part);
    part.write = (chunk) => {
      handed += chunk.length;
      largest = Math.max(largest, handed);
      return write(chunk);
    };
    return part;
  };
  return {
    largestPart: () => largest,
    storage: delegating(inner, {
      openPart: async (jobId, n) => measured(await inner.openPart(jobId, n)),
      resumePart: async (...args) => {
        const part = await inner.resumePart(...args);
        return part === undefined ? undefined : measured(part);
      },
    }),
  };
}

describe('when a file is larger than maxBytes', () => {
  it('fails permanently before reading the body when Content-Length says so, and closes the response', async () => {
    // More than loopback socket buffers hold: an origin that got all of it out had a reader.
    const bytes = randomBytes(32 * MiB);
    const route = '/too-big/declared.bin';
    const { error } = await attempt({ url: origin.route(route, serveBytes(bytes)), maxBytes: MiB });
    expect(error).toMatchObject({ code: 'FERRY_ERR_TOO_LARGE', retryable: false, data: { maxBytes: MiB } });
    // The response is closed, not left open until the body idle timeout with the connection it holds.
    const exchange = origin.exchanges(route)[0]!;
    await expect.poll(() => exchange.cutShort, { timeout: 2_000 }).toBe(true);
    expect(exchange.bodyBytesSent).toBeLessThan(bytes.length);
    expect(await published()).toEqual([]);
    expect(await partsLeft()).toEqual([]);
  });

  it.each([
    ['the request', { maxBytes: 2 * MiB }, {}],
    ['the server', {}, { maxBytes: 2 * MiB }],
    ['the lower of the two', { maxBytes: 2 * MiB }, { maxBytes: 3 * MiB }],
  ])('stops at the limit %s sets without Content-Length, and the part never outgrows it', async (_who, request, context) => {
    const measuring = measuringStorage(storage);
    const bytes = randomBytes(8 * MiB);
    const { error } = await attempt(
      { url: origin.route('/too-big/chunked.bin', serveBytes(bytes, { chunked: true })), ...request },
      { ...context, storage: measuring.storage },
    );
    expect(error).toMatchObject({ code: 'FERRY_ERR_TOO_LARGE', retryable: false, data: { maxBytes: 2 * MiB } });
    expect(measuring.largestPart()).toBeGreaterThan(0);
    expect(measuring.largestPart()).toBeLessThanOrEqual(2 * MiB);
    expect(await partsLeft()).toEqual([]);
    expect(await published()).toEqual([]);
  });
});

describe('when storage cannot open a part', () => {
  it('fails and closes the response instead of leaving it open until the idle timeout', async () => {
    const bytes = randomBytes(8 * MiB);
    const route = '/no-part.bin';
    const refusing = delegating(storage, { openPart: () => Promise.reject(Object.assign(new Error('no room'), { code: 'ENOSPC' })) });
    const { error } = await attempt({ url: origin.route(route, serveBytes(bytes)) }, { storage: refusing });
    expect(error).toMatchObject({ code: 'FERRY_ERR_STORAGE_FULL' });
    const exchange = origin.exchanges(route)[0]!;
    await expect.poll(() => exchange.cutShort, { timeout: 2_000 }).toBe(true);
  });
});

describe('when an attempt resumes from a checkpoint', () => {
  /** A first attempt cut short after `cutAt` bytes, which leaves a checkpoint. */
  async function cutAttempt(route: string, bytes: Buffer, first: ServeOptions, ...later: ServeOptions[]): Promise<{ url: string; checkpoint: Checkpoint }> {
    const url = origin.route(route, serveBytes(bytes, first), ...later.map((options) => serveBytes(bytes, options)));
    const { checkpoint } = await attempt({ url });
    expect(checkpoint()?.bytes).toBeGreaterThan(0);
    return { url, checkpoint: checkpoint()! };
  }

  it('asks for the rest with Range and If-Range, and fetches again only what was lost in flight', async () => {
    const bytes = randomBytes(10 * MiB);
    const route = '/resume/resume.bin';
    const { url, checkpoint } = await cutAttempt(route, bytes, { etag: '"v1"', closeAfterBytes: 4 * MiB }, { etag: '"v1"' });

    const { result } = await attempt({ url }, { attempt: 2, resumeFrom: checkpoint });

    expect(sha256(await storedBytes(result))).toBe(sha256(bytes));
    expect(result).toMatchObject({ bytes: bytes.length, sha256: sha256(bytes), etag: '"v1"' });
    const [first, second] = origin.exchanges(route);
    expect(first?.headers.range).toBeUndefined();
    expect(second?.headers).toMatchObject({ range: `bytes=${checkpoint.bytes}-`, 'if-range': '"v1"' });
    expect(second?.bodyBytesSent).toBe(bytes.length - checkpoint.bytes);
    // Only what was in flight when the connection broke is fetched twice.
    expect(first!.bodyBytesSent + second!.bodyBytesSent).toBeLessThanOrEqual(bytes.length + MiB);
    expect(await partsLeft()).toEqual([]);
  });

  it('starts again from zero and stores exactly the new version when the resource changed (If-Range answered 200)', async () => {
    const v1 = randomBytes(6 * MiB);
    const v2 = randomBytes(5 * MiB);
    const route = '/resume/changing.bin';
    const url = origin.route(route, serveBytes(v1, { etag: '"v1"', closeAfterBytes: 3 * MiB }), serveBytes(v2, { etag: '"v2"' }));
    const { checkpoint } = await attempt({ url });

    const { result } = await attempt({ url }, { attempt: 2, resumeFrom: checkpoint() });

    expect(origin.exchanges(route)[1]?.headers['if-range']).toBe('"v1"');
    expect(result).toMatchObject({ bytes: v2.length, sha256: sha256(v2), etag: '"v2"' });
    expect(sha256(await storedBytes(result))).toBe(sha256(v2));
    expect(await partsLeft()).toEqual([]);
  });

  it('starts again from zero with the whole body when the origin ignores Range', async () => {
    const bytes = randomBytes(6 * MiB);
    const route = '/resume/no-range.bin';
    const { url, checkpoint } = await cutAttempt(route, bytes, { etag: '"a"', closeAfterBytes: 2 * MiB }, { etag: '"a"', range: 'ignore' });
    const { result } = await attempt({ url }, { attempt: 2, resumeFrom: checkpoint });
    expect(origin.exchanges(route)).toHaveLength(2);
    expect(sha256(await storedBytes(result))).toBe(sha256(bytes));
  });

  it.each<[string, ServeOptions]>([
    ['with a Content-Range that starts elsewhere than the kept bytes', { etag: '"a"', range: 'wrong-start' }],
    ['without the validator the checkpoint had', { range: 'unconditional' }],
    ['with another Content-Range complete length than the checkpoint saw', { etag: '"a"', range: 'wrong-total' }],
  ])('refuses a 206 %s and fetches the whole file in the same attempt', async (_case, second) => {
    const bytes = randomBytes(6 * MiB);
    const route = `/resume/untrusted-${second.range}.bin`;
    const { url, checkpoint } = await cutAttempt(route, bytes, { etag: '"a"', closeAfterBytes: 2 * MiB }, second, { etag: '"a"' });

    const { result } = await attempt({ url }, { attempt: 2, resumeFrom: checkpoint });

    const exchanges = origin.exchanges(route);
    expect(exchanges).toHaveLength(3);
    expect(exchanges[1]?.headers.range).toBeDefined();
    expect(exchanges[2]?.headers.range).toBeUndefined();
    expect(sha256(await storedBytes(result))).toBe(sha256(bytes));
  });
});

describe('when the file changed while its download was interrupted and the origin ignores If-Range', () => {
  // Both versions have the same size, so nothing but the validator tells them apart.
  it.each<[string, ServeOptions, ServeOptions]>([
    ['a strong ETag', { etag: '"version-a"' }, { etag: '"version-b"' }],
    ['only Last-Modified', { lastModified: 'Tue, 01 Dec 2026 08:00:00 GMT' }, { lastModified: 'Wed, 02 Dec 2026 09:30:00 GMT' }],
  ])('starts over and stores exactly the new version, never a splice of the two (%s)', async (_validator, a, b) => {
    const versionA = randomBytes(8 * MiB);
    const versionB = randomBytes(8 * MiB);
    const route = `/splice/${a.etag === undefined ? 'dated' : 'tagged'}.bin`;
    // The origin now serves version B and answers any Range with 206, whatever If-Range names.
    const url = origin.route(route, serveBytes(versionA, { ...a, closeAfterBytes: 3 * MiB }), serveBytes(versionB, { ...b, range: 'unconditional' }));
    const interrupted = await attempt({ url });
    const checkpoint = interrupted.checkpoint()!;
    expect(checkpoint.validator).toBe(a.etag ?? a.lastModified);

    const { result, progress } = await attempt({ url }, { attempt: 2, resumeFrom: checkpoint });

    const [, resumed, restarted] = origin.exchanges(route);
    expect(origin.exchanges(route)).toHaveLength(3);
    expect(resumed?.headers).toMatchObject({ range: `bytes=${checkpoint.bytes}-`, 'if-range': checkpoint.validator });
    expect(restarted?.headers.range).toBeUndefined();
    expect(result).toMatchObject({ sha256: sha256(versionB), bytes: versionB.length });
    expect(sha256(await storedBytes(result))).toBe(sha256(versionB));
    // The kept bytes stop counting the moment they are refused, and no later attempt may look for them.
    expect(progress[0]).toEqual({ receivedBytes: 0, totalBytes: null });
    expect(progress.at(-1)).toEqual({ receivedBytes: versionB.length, totalBytes: versionB.length });
    expect(await partsLeft()).toEqual([]);
  });
});

describe('when the file changes within the second its Last-Modified names', () => {
  it('keeps no checkpoint on a Last-Modified no older than the Date it was served at, which is no strong validator, so a later attempt starts over', async () => {
    const versionA = randomBytes(6 * MiB);
    const versionB = randomBytes(6 * MiB);
    // Written in the second it is served: a change later in that second keeps its Last-Modified (RFC 9110 §8.8.2.2).
    const second = 'Fri, 04 Dec 2026 03:00:00 GMT';
    const dated = { lastModified: second, headers: { date: second } };
    const url = origin.route(
      '/same-second.bin',
      serveBytes(versionA, { ...dated, closeAfterBytes: 2 * MiB }),
      serveBytes(versionB, { ...dated, range: 'unconditional' }),
    );
    const interrupted = await attempt({ url });
    expect(interrupted.error?.code).toBe('FERRY_ERR_TRUNCATED');
    expect(interrupted.checkpoint()).toBeUndefined();

    const { result } = await attempt({ url }, { attempt: 2 });

    expect(origin.exchanges('/same-second.bin').map((e) => e.headers.range)).toEqual([undefined, undefined]);
    expect(sha256(await storedBytes(result))).toBe(sha256(versionB));
  });
});

describe('when the origin redirects', () => {
  const callerHeaders = {
    Authorization: 'Bearer s3cr3t',
    Cookie: 'session=s3cr3t',
    'X-Api-Key': 'key-s3cr3t',
    'Private-Token': 'token-s3cr3t',
    'X-Trace-Id': 'trace-7',
  };

  it("sends none of the caller's headers to another origin but those crossOriginHeaders names", async () => {
    const target = elsewhere.route('/elsewhere.bin', serveBytes(Buffer.from('moved away')));
    const url = origin.route('/to-elsewhere', answer(302, { location: target }));

    const { result } = await attempt({ url, headers: callerHeaders, crossOriginHeaders: ['x-trace-id'] });

    expect(result).toMatchObject({ filename: 'elsewhere.bin', sha256: sha256('moved away') });
    expect(origin.exchanges('/to-elsewhere')[0]?.headers).toMatchObject({
      authorization: 'Bearer s3cr3t',
      'x-api-key': 'key-s3cr3t',
      'private-token': 'token-s3cr3t',
    });
    const forwarded = elsewhere.exchanges('/elsewhere.bin')[0]?.headers ?? {};
    expect(forwarded['x-trace-id']).toBe('trace-7');
    for (const name of ['authorization', 'cookie', 'x-api-key', 'private-token']) expect(forwarded[name], name).toBeUndefined();
    expect(JSON.stringify(forwarded)).not.toContain('s3cr3t');
  });

  it('keeps every header on a redirect within the same origin', async () => {
    const target = origin.route('/nearby.bin', serveBytes(Buffer.from('nearby')));
    const { result } = await attempt({ url: origin.route('/to-nearby', answer(307, { location: target })), headers: callerHeaders });
    expect(result?.filename).toBe('nearby.bin');
    const lowerCased = Object.fromEntries(Object.entries(callerHeaders).map(([name, value]) => [name.toLowerCase(), value]));
    expect(origin.exchanges('/nearby.bin')[0]?.headers).toMatchObject(lowerCased);
  });
});

describe('when the signal aborts mid-body', () => {
  it.each([
    ['its coded reason', new FerryError('FERRY_ERR_CANCELLED', 'cancelled by the test'), 'FERRY_ERR_CANCELLED'],
    ['FERRY_ERR_ABORTED for any other reason', new Error('shutting down'), 'FERRY_ERR_ABORTED'],
  ])('stops reading the origin at once and fails with %s', async (_case, reason, code) => {
    const bytes = randomBytes(8 * MiB);
    const route = `/abort/${code}.bin`;
    const abort = new AbortController();
    const run = attempt({ url: origin.route(route, serveBytes(bytes, { bytesPerSecond: 2 * MiB })) }, { signal: abort.signal });
    const started = Date.now();
    while ((origin.exchanges(route)[0]?.bodyBytesSent ?? 0) < 256 * 1024) {
      expect(Date.now() - started).toBeLessThan(10_000);
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
    abort.abort(reason);

    const { error } = await run;

    expect(error?.code).toBe(code);
    const exchange = origin.exchanges(route)[0]!;
    await expect.poll(() => exchange.cutShort).toBe(true);
    expect(exchange.bodyBytesSent).toBeLessThan(bytes.length / 2);
    expect(await published()).toEqual([]);
    expect(await partsLeft()).toEqual([]);
  });
});
