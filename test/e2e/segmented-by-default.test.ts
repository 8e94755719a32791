import { describe, expect, it } from 'vitest';
import { pathOf, sha256File } from '../support/files.js';
import { serveFile, type Handler, type RandomFile } from '../support/origin.js';
import { useStack } from '../support/stack.js';

const MiB = 1024 * 1024;
// No FERRY_SEGMENTS: the defaults (4 connections from 64 MiB) are what is tested.
const stack = useStack({ workers: 1 });
const SIZE = 64 * MiB;
// Below the default 50 MB/s a first connection must make not to be split.
const SLOW = { bytesPerSecond: 24 * MiB };

async function completed(url: string, file: RandomFile) {
  const id = await stack.ferry.enqueue({ url });
  const done = await stack.ferry.waitFor(id, ['completed', 'failed'], 120_000);
  expect(done.state, JSON.stringify(done.error)).toBe('completed');
  expect(done.result?.sha256).toBe(file.sha256);
  expect(await sha256File(pathOf(done.result!.location))).toBe(file.sha256);
  return done;
}

describe('with the default settings, a file of the minimum size from an origin that takes ranges', () => {
  it('is fetched over 4 connections when one is slower than 50 MB/s: the rest of the file in bounded ranges of the same version', async () => {
    const file = await stack.origin.randomFile('default-4.bin', SIZE);
    await completed(stack.origin.route('/default/4.bin', serveFile(file, { etag: '"d1"', acceptRanges: true, ...SLOW })), file);
    const requests = stack.origin.requests('/default/4.bin');
    expect(requests).toHaveLength(4);
    expect(requests[0]?.headers.range).toBeUndefined();
    const firsts = requests.slice(1).map((r) => Number(/^bytes=(\d+)-(\d+)$/.exec(String(r.headers.range))?.[1]));
    const length = firsts[1]! - firsts[0]!;
    // Split after the 250 ms probe (about 6 MiB at 24 MiB/s): segment 0 keeps the first quarter of the rest.
    expect(firsts[0]! - length).toBeGreaterThan(0);
    expect(firsts[0]! - length).toBeLessThan(SIZE / 4);
    expect(requests.map((r) => r.headers.range)).toEqual([undefined, ...firsts.map((first) => `bytes=${first}-${Math.min(SIZE, first + length) - 1}`)]);
    expect(requests.slice(1).every((r) => r.headers['if-range'] === '"d1"')).toBe(true);
  });

  it('is fetched over one connection when that one is fast (an unthrottled origin on loopback)', async () => {
    const file = await stack.origin.randomFile('default-fast.bin', SIZE);
    await completed(stack.origin.route('/default/fast.bin', serveFile(file, { etag: '"d1"', acceptRanges: true })), file);
    expect(stack.origin.requests('/default/fast.bin')).toHaveLength(1);
  });

  it('one byte smaller, is fetched over one connection', async () => {
    const file = await stack.origin.randomFile('default-small.bin', SIZE - 1);
    await completed(stack.origin.route('/default/small.bin', serveFile(file, { etag: '"d1"', acceptRanges: true, ...SLOW })), file);
    expect(stack.origin.requests('/default/small.bin')).toHaveLength(1);
  });
});

describe('with the default settings, a hostile origin', () => {
  it('that says it takes ranges but answers every one with the whole file gives the right bytes over one connection', async () => {
    const file = await stack.origin.randomFile('hostile-ignored.bin', SIZE);
    // The ETag as a plain header: serveFile then honours no Range.
    await completed(stack.origin.route('/hostile/ignored.bin', serveFile(file, { acceptRanges: true, headers: { etag: '"i1"' }, ...SLOW })), file);
    // The three ranges were asked for and refused.
    expect(stack.origin.requests('/hostile/ignored.bin')).toHaveLength(4);
  });

  it('whose file changes between the first response and the ranges (If-Range ignored) gives the first version alone', async () => {
    const v1 = await stack.origin.randomFile('hostile-v1.bin', SIZE);
    const v2 = await stack.origin.randomFile('hostile-v2.bin', SIZE);
    const ignoresIfRange: Handler = async (req, res) => {
      delete req.headers['if-range'];
      await serveFile(v2, { etag: '"v2"', acceptRanges: true })(req, res);
    };
    await completed(stack.origin.route('/hostile/changed.bin', serveFile(v1, { etag: '"v1"', acceptRanges: true, ...SLOW }), ignoresIfRange), v1);
    expect(stack.origin.requests('/hostile/changed.bin')).toHaveLength(4);
  });

  it('that cuts the ranges short fails the attempt, and the retry fetches the gaps into the right bytes', async () => {
    const file = await stack.origin.randomFile('hostile-cut.bin', SIZE);
    const whole = serveFile(file, { etag: '"c1"', acceptRanges: true, ...SLOW });
    const cut = serveFile(file, { etag: '"c1"', acceptRanges: true, closeAfterBytes: MiB, ...SLOW });
    const done = await completed(stack.origin.route('/hostile/cut.bin', whole, cut, cut, cut, whole), file);
    expect(done.attempts.made).toBeGreaterThan(1);
    const resumed = stack.origin.requests('/hostile/cut.bin').slice(4);
    expect(resumed.every((r) => /^bytes=\d+-\d+$/.test(String(r.headers.range)) && r.headers['if-range'] === '"c1"')).toBe(true);
  });
});
