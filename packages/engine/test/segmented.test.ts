import { createHash, randomBytes } from 'node:crypto';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { DownloadRequest, FerryError } from '@ferry/contract';
import { LocalDiskStorage, type Checkpoint } from '@ferry/storage';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { downloadToStorage, type DownloadContext } from '../src/engine.js';
import { EgressPolicy } from '../src/egress/address-policy.js';
import { HttpAgents } from '../src/http-client.js';
import type { TakeConnections } from '../src/connection-slots.js';
import type { StoredDownload, WorkerProgress } from '../src/progress.js';
import { downloadContext } from './support/download-context.js';
import { serveRanges } from './support/range-origin.js';
import { ScriptedOrigin, type Exchange, type Handler } from './support/scripted-origin.js';

const MiB = 1024 * 1024;
const NAMESPACE = 'segments-test';
const SIZE = 4 * MiB;
/**
 * Up to four connections; each at 16 MiB/s, below the 64 MiB/s a connection must make in the first 30 ms not to be
 * split, so the rest of the file is split after about 0.5 MiB, and segment 0 is still streaming when the others answer.
 */
const SEGMENTED: Partial<DownloadContext> = { segments: 4, segmentMinBytes: MiB, segmentSplitBelowBytesPerSecond: 64 * MiB, segmentProbeMs: 30 };
const PER_CONNECTION = 16 * MiB;

const sha256 = (bytes: Buffer) => createHash('sha256').update(bytes).digest('hex');

let origin: ScriptedOrigin;
let agents: HttpAgents;
beforeAll(async () => {
  origin = await ScriptedOrigin.start();
  agents = new HttpAgents(new EgressPolicy({ allowCidrs: ['127.0.0.1/32'], allowPorts: [origin.port] }));
});
afterAll(async () => {
  await origin.close();
  await agents.close();
});

let root: string;
let storage: LocalDiskStorage;
beforeEach(async () => {
  root = await mkdtemp(path.join(os.tmpdir(), 'ferry-segments-'));
  storage = new LocalDiskStorage(root);
});
afterEach(() => rm(root, { recursive: true, force: true }));

async function attempt(request: Record<string, unknown>, options: Partial<DownloadContext> = {}) {
  const progress: WorkerProgress[] = [];
  const ctx = downloadContext({
    agents,
    storage,
    namespace: NAMESPACE,
    ...SEGMENTED,
    ...options,
    onProgress: (report) => {
      progress.push(report);
      options.onProgress?.(report);
    },
  });
  const checkpoint = (): Checkpoint | undefined => progress.at(-1)?.checkpoint;
  try {
    return { checkpoint, progress, ctx, result: await downloadToStorage(DownloadRequest.parse(request), ctx) };
  } catch (err) {
    if (!(err instanceof FerryError)) throw err;
    return { checkpoint, progress, ctx, error: err };
  }
}

async function stored(result: StoredDownload | undefined): Promise<Buffer> {
  if (result === undefined) throw new Error('the download did not complete');
  const opened = await storage.openStored({ namespace: NAMESPACE, location: result.location, version: result.storedVersion, sha256: result.sha256 });
  if (!opened.found) throw new Error(`the stored file is ${opened.why}`);
  const chunks: Buffer[] = [];
  for await (const chunk of opened.reader.stream()) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

const published = () => readdir(storage.directoryOf(NAMESPACE)).catch(() => []);
const parts = () => readdir(storage.partsDir).catch(() => []);
const served = (exchanges: readonly Exchange[]) => exchanges.reduce((sum, e) => sum + e.bodyBytesSent, 0);

/**
 * Checks the ranges asked for after the first request: `connections` − 1 bounded ranges with If-Range, of one
 * length (the last one shorter), that segment 0's own share and they cut exactly from where it was split to the
 * file's end. Returns where the split began.
 */
function expectSplit(exchanges: readonly Exchange[], connections: number): number {
  expect(exchanges).toHaveLength(connections);
  expect(exchanges[0]?.headers.range).toBeUndefined();
  expect(exchanges.slice(1).every((e) => e.headers['if-range'] === '"v1"')).toBe(true);
  const ranges = exchanges
    .slice(1)
    .map((e) => /^bytes=(\d+)-(\d+)$/.exec(String(e.headers.range)))
    .map((match) => ({ first: Number(match?.[1]), last: Number(match?.[2]) }))
    .sort((a, b) => a.first - b.first);
  const length = (ranges[0]?.last ?? 0) - (ranges[0]?.first ?? 0) + 1;
  const from = (ranges[0]?.first ?? 0) - length;
  expect(from).toBeGreaterThan(0);
  expect(ranges).toEqual(ranges.map((_, i) => ({ first: from + (i + 1) * length, last: Math.min(SIZE, from + (i + 2) * length) - 1 })));
  expect(ranges.at(-1)?.last).toBe(SIZE - 1);
  return from;
}

/** A first attempt whose three ranges the origin cuts short (FERRY_ERR_TRUNCATED); from its fifth request on, `route` serves the file whole. */
async function truncatedAttempt(route: string) {
  const bytes = randomBytes(SIZE);
  const cut = serveRanges(bytes, { etag: '"v1"', cutRangesAfter: 100_000, bytesPerSecond: PER_CONNECTION });
  const url = origin.route(route, cut, cut, cut, cut, serveRanges(bytes, { etag: '"v1"' }));
  const first = await attempt({ url });
  expect(first.error?.code).toBe('FERRY_ERR_TRUNCATED');
  return { bytes, url, first };
}

describe('when the first connection is or is not the bottleneck', () => {
  it('never splits a file whose one connection is fast enough: one connection to the origin', async () => {
    const bytes = randomBytes(8 * SIZE);
    const url = origin.route('/fast', serveRanges(bytes, { etag: '"v1"' }));
    // An unthrottled loopback origin makes far more than 4 MiB/s, even on a loaded machine.
    const run = await attempt({ url }, { segmentSplitBelowBytesPerSecond: 4 * MiB, segmentProbeMs: 100 });
    expect(run.result?.sha256).toBe(sha256(bytes));
    expect((await stored(run.result)).equals(bytes)).toBe(true);
    expect(origin.connections('/fast')).toBe(1);
    expect(origin.exchanges('/fast')).toHaveLength(1);
  });
});

describe('segmented downloads', () => {
  it('splits a slower connection within the probe window: the rest of the file at once, each range checked, into one file whose sha256 is right', async () => {
    const bytes = randomBytes(SIZE);
    const url = origin.route('/honoured', serveRanges(bytes, { etag: '"v1"', bytesPerSecond: PER_CONNECTION }));
    const run = await attempt({ url });
    expect(run.error).toBeUndefined();
    expect(run.result?.sha256).toBe(sha256(bytes));
    expect((await stored(run.result)).equals(bytes)).toBe(true);
    const exchanges = origin.exchanges('/honoured');
    expect(origin.connections('/honoured')).toBe(4);
    // 16 MiB/s for 30 ms is 0.5 MiB; the rest is slack for a loaded machine, but well before the file's end.
    expect(expectSplit(exchanges, 4)).toBeLessThan(SIZE / 2);
    // Segment 0 is closed at its end: what it had sent past it is the only waste (64 KiB here).
    expect(served(exchanges)).toBeLessThanOrEqual(SIZE + MiB / 2);
    expect(await parts()).toEqual([]);
  });

  it('falls back to one connection when the origin ignores ranges, closing the refused responses', async () => {
    const bytes = randomBytes(SIZE);
    // The refused 200s at 2 MiB/s: what they send before they are closed does not depend on how busy the machine is.
    const url = origin.route(
      '/ignored',
      serveRanges(bytes, { etag: '"v1"', range: 'ignore', bytesPerSecond: PER_CONNECTION }),
      serveRanges(bytes, { etag: '"v1"', range: 'ignore', bytesPerSecond: 2 * MiB }),
    );
    const run = await attempt({ url });
    expect(run.result?.sha256).toBe(sha256(bytes));
    expect((await stored(run.result)).equals(bytes)).toBe(true);
    const exchanges = origin.exchanges('/ignored');
    expect(exchanges).toHaveLength(4);
    expect(exchanges[0]?.bodyBytesSent).toBe(SIZE);
    // Each 200 is closed as soon as its headers show it is no segment: 192 KiB in all here (one 64 KiB write each at 2 MiB/s), 384 KiB at 16 MiB/s.
    expect(served(exchanges.slice(1))).toBeLessThanOrEqual(3 * 256 * 1024);
  });

  it('never splices two versions: ranges of a changed file (If-Range ignored) are refused and the file is the first version', async () => {
    const v1 = randomBytes(SIZE);
    const v2 = randomBytes(SIZE);
    const url = origin.route(
      '/changed',
      serveRanges(v1, { etag: '"v1"', bytesPerSecond: PER_CONNECTION }),
      serveRanges(v2, { etag: '"v2"', range: 'unconditional', bytesPerSecond: PER_CONNECTION }),
    );
    const run = await attempt({ url });
    expect(run.result?.sha256).toBe(sha256(v1));
    expect((await stored(run.result)).equals(v1)).toBe(true);
    expect(origin.exchanges('/changed')[0]?.bodyBytesSent).toBe(SIZE);
  });

  it('falls back when one range is refused after others started: they stop, segment 0 writes every byte, progress never goes down', async () => {
    const bytes = randomBytes(SIZE);
    // The accepted segments send 1 MiB at 2 MiB/s: they are still streaming when the refusal comes.
    const slowSegment = serveRanges(bytes, { etag: '"v1"', bytesPerSecond: 2 * MiB });
    const slowRefusal: Handler = async (req, res, exchange) => {
      await sleep(100);
      await serveRanges(bytes, { etag: '"v1"', range: 'ignore' })(req, res, exchange);
    };
    const url = origin.route('/late-refusal', serveRanges(bytes, { etag: '"v1"', bytesPerSecond: PER_CONNECTION }), slowSegment, slowSegment, slowRefusal);
    const run = await attempt({ url });
    expect(run.error).toBeUndefined();
    expect(run.result?.sha256).toBe(sha256(bytes));
    expect((await stored(run.result)).equals(bytes)).toBe(true);
    const exchanges = origin.exchanges('/late-refusal');
    expect(exchanges[0]?.bodyBytesSent).toBe(SIZE);
    // The two accepted segments had sent bytes before the refusal closed them.
    expect(exchanges.slice(1, 3).map((e) => e.bodyBytesSent > 0)).toEqual([true, true]);
    await vi.waitFor(() => expect(exchanges.slice(1, 3).map((e) => e.cutShort)).toEqual([true, true]));
    const received = run.progress.map((p) => p.receivedBytes);
    expect(received).toEqual([...received].sort((a, b) => a - b));
    expect(received.at(-1)).toBe(SIZE);
  });

  it('refuses a 206 whose Content-Range is not the range asked for', async () => {
    const bytes = randomBytes(SIZE);
    const url = origin.route(
      '/wrong-range',
      serveRanges(bytes, { etag: '"v1"', bytesPerSecond: PER_CONNECTION }),
      serveRanges(bytes, { etag: '"v1"', range: 'wrong-start', bytesPerSecond: PER_CONNECTION }),
    );
    const run = await attempt({ url });
    expect(run.result?.sha256).toBe(sha256(bytes));
    expect(origin.exchanges('/wrong-range')[0]?.bodyBytesSent).toBe(SIZE);
  });

  it('a truncated segment fails the attempt (retryable, nothing published); the next attempt fetches only the gaps', async () => {
    const { bytes, url, first } = await truncatedAttempt('/truncated');
    expect(first.error?.retryable).toBe(true);
    expect(await published()).toEqual([]);
    const checkpoint = first.checkpoint();
    // Segment 0 was whole: at least its 1 MiB is kept from 0, and each run of the others.
    expect(checkpoint?.bytes).toBeGreaterThanOrEqual(MiB);
    const runs = checkpoint?.segments ?? [];
    expect(runs.length).toBeGreaterThan(1);
    const kept = runs.reduce((sum, run) => sum + run.bytes, 0);
    const second = await attempt({ url }, { jobId: first.ctx.jobId, attempt: 2, resumeFrom: checkpoint });
    expect(second.error).toBeUndefined();
    expect(second.result?.sha256).toBe(sha256(bytes));
    expect((await stored(second.result)).equals(bytes)).toBe(true);
    const resumed = origin.exchanges('/truncated').slice(4);
    expect(resumed.every((e) => e.headers['if-range'] === '"v1"' && /^bytes=\d+-\d+$/.test(String(e.headers.range)))).toBe(true);
    expect(served(resumed)).toBe(SIZE - kept);
    expect(await parts()).toEqual([]);
  });

  it('a resume whose ranges are refused (the file changed) starts over: the file is the new version alone', async () => {
    const v1 = randomBytes(SIZE);
    const v2 = randomBytes(SIZE);
    const cut = serveRanges(v1, { etag: '"v1"', cutRangesAfter: 100_000, bytesPerSecond: PER_CONNECTION });
    const url = origin.route('/changed-before-resume', cut, cut, cut, cut, serveRanges(v2, { etag: '"v2"', bytesPerSecond: PER_CONNECTION }));
    const first = await attempt({ url });
    expect(first.error?.code).toBe('FERRY_ERR_TRUNCATED');
    const second = await attempt({ url }, { jobId: first.ctx.jobId, attempt: 2, resumeFrom: first.checkpoint() });
    expect(second.result?.sha256).toBe(sha256(v2));
    expect((await stored(second.result)).equals(v2)).toBe(true);
    expect(await parts()).toEqual([]);
  });

  it('checks the requested checksum over the whole file in order, and a mismatch publishes nothing', async () => {
    const bytes = randomBytes(SIZE);
    const url = origin.route('/checksum', serveRanges(bytes, { etag: '"v1"', bytesPerSecond: PER_CONNECTION }));
    const value = createHash('sha512').update(bytes).digest('hex');
    const right = await attempt({ url, checksum: { algorithm: 'sha512', value } });
    expect(right.result?.digest).toEqual({ algorithm: 'sha512', value });
    const wrong = await attempt({ url, checksum: { algorithm: 'sha512', value: value.replace(/^./, (c) => (c === '0' ? '1' : '0')) } });
    expect(wrong.error?.code).toBe('FERRY_ERR_CHECKSUM_MISMATCH');
    expect(await published()).toHaveLength(1);
    expect(origin.exchanges('/checksum')).toHaveLength(8);
  });

  it('refuses a file over maxBytes before asking for any range', async () => {
    const url = origin.route('/too-large', serveRanges(randomBytes(SIZE), { etag: '"v1"' }));
    const run = await attempt({ url, maxBytes: SIZE - 1 });
    expect(run.error?.code).toBe('FERRY_ERR_TOO_LARGE');
    expect(origin.exchanges('/too-large')).toHaveLength(1);
    expect(await parts()).toEqual([]);
  });

  it('uses one connection when the request asks for segments: 1, the server allows one, or the file is under the minimum', async () => {
    const bytes = randomBytes(SIZE);
    const url = origin.route('/one', serveRanges(bytes, { etag: '"v1"', bytesPerSecond: PER_CONNECTION }));
    expect((await attempt({ url, segments: 1 })).result?.sha256).toBe(sha256(bytes));
    expect((await attempt({ url, segments: 4 }, { segments: 1 })).result?.sha256).toBe(sha256(bytes));
    expect((await attempt({ url }, { segmentMinBytes: SIZE + 1 })).result?.sha256).toBe(sha256(bytes));
    expect(origin.exchanges('/one')).toHaveLength(3);
  });

  it("never opens more connections than the server's count, whatever the request asks", async () => {
    const bytes = randomBytes(SIZE);
    const url = origin.route('/capped', serveRanges(bytes, { etag: '"v1"', bytesPerSecond: PER_CONNECTION }));
    expect((await attempt({ url, segments: 16 }, { segments: 2 })).result?.sha256).toBe(sha256(bytes));
    expectSplit(origin.exchanges('/capped'), 2);
  });

  it('a pause stops every segment and keeps the contiguous prefix', async () => {
    const bytes = randomBytes(SIZE);
    const url = origin.route('/paused', serveRanges(bytes, { etag: '"v1"', bytesPerSecond: MiB }));
    const pause = new AbortController();
    const run = await attempt(
      { url },
      {
        signal: pause.signal,
        onProgress: (report) => {
          if (report.receivedBytes >= MiB / 2) pause.abort(new FerryError('FERRY_ERR_PAUSED', 'paused'));
        },
      },
    );
    expect(run.error?.code).toBe('FERRY_ERR_PAUSED');
    expect(await published()).toEqual([]);
    expect(run.checkpoint()?.bytes).toBeGreaterThan(0);
    // Every connection was closed by the pause, none left to run to its end.
    const exchanges = origin.exchanges('/paused');
    expect(exchanges).toHaveLength(4);
    await vi.waitFor(() => expect(exchanges.every((e) => e.cutShort)).toBe(true));
  });
});

/** A host's free connections, as the fleet's per-host slots would grant them: what is free now, no waiting. */
function connectionPool(free: number) {
  const pool = { free, held: 0, asked: [] as number[], refusals: [] as unknown[] };
  const take: TakeConnections = async (wanted) => {
    pool.asked.push(wanted);
    const granted = Math.min(wanted, pool.free);
    pool.free -= granted;
    pool.held += granted;
    return Array.from({ length: granted }, () => ({
      release: (refusal?: unknown) => {
        if (refusal !== undefined) pool.refusals.push(refusal);
        pool.free += 1;
        pool.held -= 1;
      },
    }));
  };
  return { pool, take };
}

/** An origin's 429 with Retry-After: 7, as an overloaded host answers the ranges it will not serve. */
const tooMany: Handler = (_req, res) => {
  res.writeHead(429, { 'retry-after': '7' });
  res.end();
};
const backpressureOf = (refusal: unknown) => {
  const coded = refusal instanceof FerryError ? refusal : undefined;
  return { code: coded?.code, status: coded?.data['status'], retryAfterMs: coded?.data['retryAfterMs'] };
};

describe('when the host has fewer free connections than segments', () => {
  /** The file from an origin slow enough to be split, with `free` connections of its host free. */
  async function withFree(route: string, free: number) {
    const bytes = randomBytes(SIZE);
    const url = origin.route(route, serveRanges(bytes, { etag: '"v1"', bytesPerSecond: PER_CONNECTION }));
    const { pool, take } = connectionPool(free);
    const run = await attempt({ url }, { takeConnections: take });
    expect(run.result?.sha256).toBe(sha256(bytes));
    // The first connection proved too slow: as many more as segments allow were asked for.
    expect(pool.asked).toEqual([3]);
    return { pool, exchanges: origin.exchanges(route) };
  }

  it('opens a segment only for each connection granted, and gives every one back', async () => {
    const { pool, exchanges } = await withFree('/granted-one', 1);
    // Two connections: the rest of the file in two halves.
    expectSplit(exchanges, 2);
    expect(pool).toMatchObject({ free: 1, held: 0 });
  });

  it('uses one connection when none is free', async () => {
    const { pool, exchanges } = await withFree('/granted-none', 0);
    expect(exchanges).toHaveLength(1);
    expect(pool.held).toBe(0);
  });

  it('gives a refused segment its connection back at once, while segment 0 goes on over the whole file', async () => {
    const bytes = randomBytes(SIZE);
    const url = origin.route(
      '/granted-refused',
      serveRanges(bytes, { etag: '"v1"', range: 'ignore', bytesPerSecond: 4 * MiB }),
      serveRanges(bytes, { etag: '"v1"', range: 'ignore', bytesPerSecond: 2 * MiB }),
    );
    const { pool, take } = connectionPool(3);
    const heldAtReports: number[] = [];
    const run = await attempt({ url }, { takeConnections: take, onProgress: () => heldAtReports.push(pool.held) });
    expect(run.result?.sha256).toBe(sha256(bytes));
    expect(pool.asked).toEqual([3]);
    // Segment 0 alone streams the last MiBs: the refused segments' connections were back by then.
    expect(heldAtReports.length).toBeGreaterThan(2);
    expect(heldAtReports.at(-2)).toBe(0);
    expect(pool.held).toBe(0);
  });

  it("hands a range's 429 to its connection's release, with its Retry-After, while segment 0 completes the file alone", async () => {
    const bytes = randomBytes(SIZE);
    const url = origin.route('/granted-429', serveRanges(bytes, { etag: '"v1"', bytesPerSecond: PER_CONNECTION }), tooMany);
    const { pool, take } = connectionPool(3);
    const run = await attempt({ url }, { takeConnections: take });
    expect(run.error).toBeUndefined();
    expect((await stored(run.result)).equals(bytes)).toBe(true);
    expect(origin.exchanges('/granted-429')[0]?.bodyBytesSent).toBe(SIZE);
    expect(pool.refusals.length).toBeGreaterThan(0);
    expect(pool.refusals.map(backpressureOf)).toContainEqual({ code: 'FERRY_ERR_ORIGIN_UNAVAILABLE', status: 429, retryAfterMs: 7000 });
    expect(pool).toMatchObject({ free: 3, held: 0 });
  });

  it('gives every connection back when a segment is truncated, when the download is paused, and when it is too large', async () => {
    const bytes = randomBytes(SIZE);
    const cut = serveRanges(bytes, { etag: '"v1"', cutRangesAfter: 100_000, bytesPerSecond: PER_CONNECTION });
    const { pool, take } = connectionPool(3);
    const truncated = await attempt({ url: origin.route('/granted-cut', cut) }, { takeConnections: take });
    expect(truncated.error?.code).toBe('FERRY_ERR_TRUNCATED');
    expect(pool.held).toBe(0);

    const pause = new AbortController();
    const paused = await attempt(
      { url: origin.route('/granted-paused', serveRanges(bytes, { etag: '"v1"', bytesPerSecond: MiB })) },
      {
        takeConnections: take,
        signal: pause.signal,
        onProgress: (report) => {
          if (report.receivedBytes >= MiB / 2) pause.abort(new FerryError('FERRY_ERR_PAUSED', 'paused'));
        },
      },
    );
    expect(paused.error?.code).toBe('FERRY_ERR_PAUSED');
    expect(pool.held).toBe(0);

    const tooLarge = await attempt(
      { url: origin.route('/granted-too-large', serveRanges(bytes, { etag: '"v1"' })), maxBytes: SIZE - 1 },
      { takeConnections: take },
    );
    expect(tooLarge.error?.code).toBe('FERRY_ERR_TOO_LARGE');
    // Too large is known from the first response: no connection was even asked for.
    expect(pool.asked).toEqual([3, 3]);
    expect(pool).toMatchObject({ free: 3, held: 0 });
  });

  it("hands a gap's 429 to its connection's release, and resumes the prefix alone", async () => {
    const { bytes, url, first } = await truncatedAttempt('/granted-resume-429');
    const checkpoint = first.checkpoint();
    expect(checkpoint?.segments?.length).toBeGreaterThan(1);
    const whole = serveRanges(bytes, { etag: '"v1"' });
    // The first gap, and the prefix resumed alone, start where the kept prefix ends; every other gap meets a 429.
    origin.route('/granted-resume-429', (req, res, exchange) =>
      String(req.headers.range).startsWith(`bytes=${checkpoint?.bytes}-`) ? whole(req, res, exchange) : tooMany(req, res, exchange),
    );
    const { pool, take } = connectionPool(3);
    const second = await attempt({ url }, { jobId: first.ctx.jobId, attempt: 2, resumeFrom: checkpoint, takeConnections: take });
    expect(second.result?.sha256).toBe(sha256(bytes));
    expect(pool.refusals.map(backpressureOf)).toContainEqual({ code: 'FERRY_ERR_ORIGIN_UNAVAILABLE', status: 429, retryAfterMs: 7000 });
    expect(pool).toMatchObject({ free: 3, held: 0 });
  });

  it('a pause while connections are being asked for ends the attempt at once, and a grant that comes later goes back', async () => {
    const bytes = randomBytes(SIZE);
    const url = origin.route('/granted-late', serveRanges(bytes, { etag: '"v1"', bytesPerSecond: PER_CONNECTION }));
    const pause = new AbortController();
    const pool = { held: 0, granted: false };
    // The fleet's answer is slow (Redis far away): it comes 300 ms after the pause.
    const take: TakeConnections = async (wanted) => {
      pause.abort(new FerryError('FERRY_ERR_PAUSED', 'paused'));
      await sleep(300);
      pool.granted = true;
      pool.held += wanted;
      return Array.from({ length: wanted }, () => ({ release: () => void (pool.held -= 1) }));
    };
    const run = await attempt({ url }, { takeConnections: take, signal: pause.signal });
    expect(run.error?.code).toBe('FERRY_ERR_PAUSED');
    expect(pool.granted).toBe(false);
    await vi.waitFor(() => expect(pool).toEqual({ held: 0, granted: true }));
  });

  it('gives back at once the connections granted beyond those asked for', async () => {
    const bytes = randomBytes(SIZE);
    const url = origin.route('/granted-surplus', serveRanges(bytes, { etag: '"v1"', bytesPerSecond: PER_CONNECTION }));
    const { pool, take } = connectionPool(8);
    // A fleet that grants more than it was asked for: the surplus is never opened, so nothing else would free it.
    const generous: TakeConnections = (wanted) => take(wanted + 2);
    const run = await attempt({ url }, { takeConnections: generous });
    expect(run.result?.sha256).toBe(sha256(bytes));
    expectSplit(origin.exchanges('/granted-surplus'), 4);
    expect(pool).toMatchObject({ free: 8, held: 0 });
  });

  it('closes every gap it opened when a resumed attempt fails before filling them', async () => {
    const { bytes, url, first } = await truncatedAttempt('/granted-resume-too-large');
    const checkpoint = first.checkpoint();
    expect(checkpoint?.segments?.length).toBeGreaterThan(2);
    // From the fifth request on (the last handler repeats); slow, so that a gap left open is still being sent when the attempt has failed.
    const slow = serveRanges(bytes, { etag: '"v1"', bytesPerSecond: MiB });
    origin.route('/granted-resume-too-large', slow);
    const { take } = connectionPool(3);
    const second = await attempt({ url, maxBytes: SIZE - 1 }, { jobId: first.ctx.jobId, attempt: 2, resumeFrom: checkpoint, takeConnections: take });
    expect(second.error?.code).toBe('FERRY_ERR_TOO_LARGE');
    const gaps = origin.exchanges('/granted-resume-too-large').slice(4);
    expect(gaps.length).toBeGreaterThan(1);
    await vi.waitFor(() => expect(gaps.map((e) => e.cutShort)).toEqual(gaps.map(() => true)));
  });

  it('resumes the gaps only with a connection for each, else the prefix from byte 0 alone', async () => {
    const { bytes, url, first } = await truncatedAttempt('/granted-resume');
    const checkpoint = first.checkpoint();
    expect(checkpoint?.segments?.length).toBeGreaterThan(1);
    const { pool, take } = connectionPool(0);
    const second = await attempt({ url }, { jobId: first.ctx.jobId, attempt: 2, resumeFrom: checkpoint, takeConnections: take });
    expect(second.result?.sha256).toBe(sha256(bytes));
    const resumed = origin.exchanges('/granted-resume').slice(4);
    expect(resumed.map((e) => e.headers.range)).toEqual([`bytes=${checkpoint?.bytes}-`]);
    expect(pool.held).toBe(0);
  });
});
