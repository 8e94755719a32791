import { describe, expect, it } from 'vitest';
import { pathOf, sha256File } from '../support/files.js';
import { bodyBytesSent, serveFile } from '../support/origin.js';
import { useStack } from '../support/stack.js';
import { receivedAtLeast } from '../support/wait.js';

const MiB = 1024 * 1024;
const SEGMENTED = { FERRY_SEGMENTS: '4', FERRY_SEGMENT_MIN_BYTES: String(MiB) };

const stack = useStack({ eachTest: true });

describe('when a worker dies mid-segmented-download', () => {
  it('lets another worker resume every segment, the origin serving at most 1.05 times the size', async () => {
    const { ferry } = stack;
    const doomed = await ferry.startWorker(SEGMENTED);
    const file = await stack.origin.randomFile('segmented.bin', 32 * MiB);
    const route = '/segmented.bin';
    // 4 connections at 1 MiB/s: a checkpoint is at most 250 ms (1 MiB) behind the bytes on disk.
    const url = stack.origin.route(route, serveFile(file, { etag: '"s1"', acceptRanges: true, bytesPerSecond: MiB }));
    const id = await ferry.enqueue({ url });
    await receivedAtLeast(ferry, id, 12 * MiB);

    doomed.child.kill('SIGKILL');
    await ferry.startWorker(SEGMENTED);
    const final = await ferry.waitFor(id, ['completed', 'failed'], 60_000);

    expect(final.state).toBe('completed');
    expect(await sha256File(pathOf(final.result!.location))).toBe(file.sha256);
    const requests = stack.origin.requests(route);
    // The first attempt's four, then the second's: bounded ranges of the same version only.
    expect(requests.slice(0, 4).filter((r) => r.headers.range === undefined)).toHaveLength(1);
    const resumed = requests.slice(4);
    expect(resumed.length).toBeGreaterThanOrEqual(2);
    expect(resumed.every((r) => /^bytes=\d+-\d+$/.test(String(r.headers.range)) && r.headers['if-range'] === '"s1"')).toBe(true);
    const served = (bodyBytesSent.get(route) ?? []).reduce((sum, bytes) => sum + bytes, 0);
    console.log(`origin served ${(served / file.size).toFixed(3)} x the size`);
    expect(served).toBeLessThanOrEqual(1.05 * file.size);
  });
});
