import { Redis } from 'ioredis';
import { describe, expect, it } from 'vitest';
import { ConcurrencyGauge } from '../support/concurrency.js';
import { serveFile, status } from '../support/origin.js';
import { useStack } from '../support/stack.js';
import { until } from '../support/wait.js';

const MiB = 1024 * 1024;
// One worker that could run both downloads at once, each in 4 segments; the host takes 2 connections.
const stack = useStack({
  workers: 1,
  env: {
    FERRY_WORKER_CONCURRENCY: '2',
    FERRY_HOST_CONCURRENCY: '2',
    FERRY_SEGMENTS: '4',
    FERRY_SEGMENT_MIN_BYTES: String(MiB),
    FERRY_LIMIT_WAIT_MS: '100',
    FERRY_LIMIT_WAIT_MAX_MS: '200',
    // On here (the tests' default is off): a segment's 429 with Retry-After must close the host.
    FERRY_HOST_COOLDOWN_MAX_MS: '60000',
  },
});

describe('when a segmented download meets a host limit', () => {
  it('opens only the connections the host has free, and another download of the host waits for them', async () => {
    const { ferry, origin } = stack;
    const gauge = new ConcurrencyGauge();
    const file = await origin.randomFile('slots.bin', 8 * MiB);
    // 2 MiB/s a connection: two halves of 4 MiB take about 2 s, time enough to see the other download wait.
    const served = gauge.count(serveFile(file, { etag: '"s1"', acceptRanges: true, bytesPerSecond: 2 * MiB }));
    const firstUrl = origin.route('/slots/first.bin', served);
    const secondUrl = origin.route('/slots/second.bin', served);
    const first = await ferry.enqueue({ url: firstUrl });
    await until(() => gauge.now >= 2, 'the first download to open its connections');
    const second = await ferry.enqueue({ url: secondUrl });
    await until(async () => (await ferry.status(second)).waiting?.reason === 'host-limit', 'the second download to wait for the host');

    for (const id of [first, second]) {
      const done = await ferry.waitFor(id, ['completed', 'failed'], 60_000);
      expect(done.state, JSON.stringify(done.error)).toBe('completed');
      expect(done.result?.sha256).toBe(file.sha256);
    }
    expect(gauge.max).toBe(2);
    // The first download split after its probe, the rest in two halves. The second starts as soon as one of them ends and gives its slot back:
    // with the first's other half still running, it has no second connection, or one if both had ended.
    const firstRanges = origin.requests('/slots/first.bin').map((r) => r.headers.range);
    expect(firstRanges).toHaveLength(2);
    expect(firstRanges[0]).toBeUndefined();
    // Split within a second at 2 MiB/s: the second half of the rest starts past the file's middle.
    const secondHalf = Number(/^bytes=(\d+)-8388607$/.exec(String(firstRanges[1]))?.[1]);
    expect(secondHalf).toBeGreaterThan(4 * MiB);
    expect(secondHalf).toBeLessThan(6 * MiB);
    expect(origin.requests('/slots/second.bin').length).toBeLessThanOrEqual(2);
    const redis = new Redis(stack.redis.url);
    try {
      const slotSets = await redis.keys('*host-slots*');
      expect(slotSets.length).toBeLessThanOrEqual(1);
      for (const key of slotSets) expect(await redis.zcard(key)).toBe(0);
    } finally {
      redis.disconnect();
    }
  });

  it("closes the host to the key for the Retry-After of a segment's 429, though the download completes over one connection", async () => {
    const { ferry, origin } = stack;
    const file = await origin.randomFile('pushed-back.bin', 8 * MiB);
    // Slow enough to be split; every range asked for then meets the origin's 429.
    const url = origin.route(
      '/pushed-back/first.bin',
      serveFile(file, { etag: '"p1"', acceptRanges: true, bytesPerSecond: 2 * MiB }),
      status(429, { 'retry-after': '3' }),
    );
    const first = await ferry.enqueue({ url });
    const done = await ferry.waitFor(first, ['completed', 'failed'], 60_000);
    expect(done.state, JSON.stringify(done.error)).toBe('completed');
    expect(done.result?.sha256).toBe(file.sha256);
    expect(origin.requests('/pushed-back/first.bin').length).toBeGreaterThan(1);

    // Without the 429 reaching the release, the host stays open and the next download of it starts at once.
    const next = await ferry.enqueue({ url: origin.route('/pushed-back/next.bin', serveFile(file, { etag: '"p1"', acceptRanges: true })) });
    await until(async () => (await ferry.status(next)).waiting?.reason === 'host-cooldown', 'the next download to wait for the cooldown');
    expect((await ferry.waitFor(next, ['completed', 'failed'], 60_000)).state).toBe('completed');
  });
});
