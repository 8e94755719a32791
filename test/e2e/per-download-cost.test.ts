import { DOWNLOAD_QUEUE, outboxKey } from '@ferry/core';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { serveFile } from '../support/origin.js';
import { useStack } from '../support/stack.js';
import { receivedAtLeast } from '../support/wait.js';

const stack = useStack({ workers: 1 });
const PREFIX = 'ferry';
let redis: Redis;
beforeAll(() => {
  redis = new Redis(stack.redis.url);
});
afterAll(() => redis.quit());

const jobKey = (id: string) => `${PREFIX}:${DOWNLOAD_QUEUE}:${id}`;

describe('what a download writes to Redis', () => {
  it('a download that ends within a second writes no progress, and its status still shows every byte', async () => {
    const file = await stack.origin.randomFile('quick.bin', 16 * 1024);
    const id = await stack.ferry.enqueue({ url: stack.origin.route('/cost/quick.bin', serveFile(file)) });
    const status = await stack.ferry.waitFor(id);
    expect(status.state).toBe('completed');
    expect(status.progress).toEqual({ receivedBytes: file.size, totalBytes: file.size });
    expect(await redis.hget(jobKey(id), 'progress')).toBeNull();
  });

  it('a download that lasts longer reports its progress while it runs', async () => {
    const file = await stack.origin.randomFile('slow.bin', 256 * 1024);
    const id = await stack.ferry.enqueue({ url: stack.origin.route('/cost/slow.bin', serveFile(file, { bytesPerSecond: 128 * 1024 })) });
    await receivedAtLeast(stack.ferry, id, 1);
    expect((await stack.ferry.status(id)).state).toBe('active');
    expect(await redis.hget(jobKey(id), 'progress')).not.toBeNull();
    expect((await stack.ferry.waitFor(id)).state).toBe('completed');
  });

  it('a download with no callback and no batch leaves no end mark to report', async () => {
    const file = await stack.origin.randomFile('plain.bin', 1000);
    const marks: string[] = [];
    // Watches every command the worker sends while the download runs.
    const monitor = await new Redis(stack.redis.url).monitor();
    monitor.on('monitor', (_time: string, args: string[]) => {
      if (args[0]?.toLowerCase() === 'zadd' && args[1] === outboxKey(PREFIX)) marks.push(String(args[3]));
    });
    try {
      const id = await stack.ferry.enqueue({ url: stack.origin.route('/cost/plain.bin', serveFile(file)) });
      expect((await stack.ferry.waitFor(id)).state).toBe('completed');
      expect(marks).not.toContain(id);
    } finally {
      monitor.disconnect();
    }
  });
});

describe('what reading a batch costs', () => {
  it('reads the active jobs of no other batch', async () => {
    const file = await stack.origin.randomFile('busy.bin', 256 * 1024);
    const busy = await stack.ferry.request<{ downloads: string[] }>('POST', '/v1/batches', {
      downloads: [{ url: stack.origin.route('/cost/busy.bin', serveFile(file, { bytesPerSecond: 64 * 1024 })) }],
    });
    const busyId = busy.body.downloads[0]!;
    await receivedAtLeast(stack.ferry, busyId, 1);
    const later = await stack.ferry.request<{ id: string }>('POST', '/v1/batches', {
      downloads: [{ url: stack.origin.route('/cost/later.bin', serveFile(file)), delayMs: 600_000 }],
    });
    // What scripts read of the busy job while the other batch is read (the worker's progress writes are HSETs).
    const reads: string[][] = [];
    const monitor = await new Redis(stack.redis.url).monitor();
    monitor.on('monitor', (_time: string, args: string[], source: string) => {
      if (source === 'lua' && args[0]?.toLowerCase() === 'hget' && args[1] === jobKey(busyId)) reads.push(args);
    });
    try {
      const counts = await stack.ferry.request<{ counts: { delayed: number } }>('GET', `/v1/batches/${later.body.id}?limit=1`);
      expect(counts.body.counts.delayed).toBe(1);
      await new Promise((resolve) => setTimeout(resolve, 200));
    } finally {
      monitor.disconnect();
    }
    expect((await stack.ferry.status(busyId)).state).toBe('active');
    expect(reads).toEqual([]);
  });
});
