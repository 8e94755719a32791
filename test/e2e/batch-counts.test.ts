import type { BatchAccepted, BatchStatus } from '@ferry/contract';
import { createQueueServices, loadConfig } from '@ferry/core';
import { Redis } from 'ioredis';
import { describe, expect, it } from 'vitest';
import { serveFile } from '../support/origin.js';
import { useStack } from '../support/stack.js';
import { receivedAtLeast, until } from '../support/wait.js';

const stack = useStack({ workers: 1 });

const noCounts = { queued: 0, active: 0, delayed: 0, paused: 0, completed: 0, failed: 0, cancelled: 0, expired: 0 };

async function counts(id: string): Promise<BatchStatus['counts']> {
  const response = await stack.ferry.request<BatchStatus>('GET', `/v1/batches/${id}?limit=1`);
  expect(response.status).toBe(200);
  return response.body.counts;
}

async function countsBecome(id: string, expected: Partial<BatchStatus['counts']>, what: string): Promise<void> {
  await until(async () => {
    const now = await counts(id);
    return Object.entries(expected).every(([state, n]) => now[state as keyof typeof now] === n);
  }, what);
  const now = await counts(id);
  expect(now).toMatchObject(expected);
}

/** Runs `use` with the outbox a worker or the API has, on a Redis connection of its own. */
async function withOutbox(use: (outbox: Awaited<ReturnType<typeof createQueueServices>>['outbox']) => Promise<void>): Promise<void> {
  const redis = new Redis(stack.redis.url);
  const { outbox, callbacks } = await createQueueServices(loadConfig(stack.ferry.env), redis, stack.ferry.queue);
  try {
    await use(outbox);
  } finally {
    await callbacks.close();
    await redis.quit();
  }
}

/** A batch of one small file, once that member completed. */
async function completedBatch(name: string): Promise<BatchAccepted> {
  const file = await stack.origin.randomFile(name, 1000);
  const accepted = (
    await stack.ferry.request<BatchAccepted>('POST', '/v1/batches', { downloads: [{ url: stack.origin.route(`/counts/${name}`, serveFile(file)) }] })
  ).body;
  await countsBecome(accepted.id, { ...noCounts, completed: 1 }, 'the member to complete');
  return accepted;
}

describe('a batch’s counts as its members move', () => {
  it('counts members that start later, are paused while running or waiting, resumed and completed, and their bytes', async () => {
    const file = await stack.origin.randomFile('counts.bin', 1024 * 1024);
    const slow = stack.origin.route('/counts/slow.bin', serveFile(file, { bytesPerSecond: 256 * 1024, etag: '"counts"' }));
    const later = stack.origin.route('/counts/later.bin', serveFile(file));
    const accepted = (await stack.ferry.request<BatchAccepted>('POST', '/v1/batches', { downloads: [{ url: slow }, { url: later, delayMs: 600_000 }] })).body;
    const [slowId, laterId] = accepted.downloads as [string, string];
    await receivedAtLeast(stack.ferry, slowId, 1);
    expect(await counts(accepted.id)).toEqual({ ...noCounts, active: 1, delayed: 1 });

    // Paused while running (by its worker) and while waiting (by the API).
    expect((await stack.ferry.request('POST', `/v1/downloads/${slowId}/pause`)).status).toBeLessThan(300);
    expect((await stack.ferry.request('POST', `/v1/downloads/${laterId}/pause`)).status).toBe(200);
    await countsBecome(accepted.id, { ...noCounts, paused: 2 }, 'both members to count as paused');
    const paused = (await stack.ferry.request<BatchStatus>('GET', `/v1/batches/${accepted.id}`)).body;
    expect(paused.bytes.received).toBeGreaterThan(0);

    for (const id of [slowId, laterId]) expect((await stack.ferry.request('POST', `/v1/downloads/${id}/resume`)).status).toBe(202);
    await countsBecome(accepted.id, { ...noCounts, completed: 2 }, 'both members to complete');
    const ended = (await stack.ferry.request<BatchStatus>('GET', `/v1/batches/${accepted.id}`)).body;
    expect(ended).toMatchObject({ state: 'completed', bytes: { received: 2 * file.size, expected: 2 * file.size } });
    expect(ended.finishedAt).not.toBeNull();
  }, 60_000);

  it('answers a pause that was carried out even when its batch cannot be counted again', async () => {
    const file = await stack.origin.randomFile('uncounted.bin', 1000);
    const url = stack.origin.route('/counts/uncounted.bin', serveFile(file));
    const accepted = (await stack.ferry.request<BatchAccepted>('POST', '/v1/batches', { downloads: [{ url, delayMs: 600_000 }] })).body;
    const id = accepted.downloads[0]!;
    // The batch's per-member record is not a hash any more: Redis refuses the recount (WRONGTYPE) after the pause succeeded.
    const redis = new Redis(stack.redis.url);
    try {
      await redis.set(`ferry:batch:${accepted.id}:states`, 'not a hash');
      const paused = await stack.ferry.request<{ state: string }>('POST', `/v1/downloads/${id}/pause`);
      expect(paused.status).toBe(200);
      expect(paused.body.state).toBe('paused');
      expect((await stack.ferry.status(id)).state).toBe('paused');
    } finally {
      await redis.del(`ferry:batch:${accepted.id}:states`);
      await redis.quit();
    }
  });

  it('keeps a paused member paused when a report of its wait comes after the pause', async () => {
    const file = await stack.origin.randomFile('late-report.bin', 1000);
    const url = stack.origin.route('/counts/late-report.bin', serveFile(file));
    const accepted = (await stack.ferry.request<BatchAccepted>('POST', '/v1/batches', { downloads: [{ url, delayMs: 600_000 }] })).body;
    const id = accepted.downloads[0]!;
    expect((await stack.ferry.request('POST', `/v1/downloads/${id}/pause`)).status).toBe(200);
    await withOutbox(async (outbox) => {
      // As a sweep or a worker reporting a retry's wait would: the job is delayed, and its pause request says paused.
      await outbox.report((await stack.ferry.queue.getJob(id))!, 'delayed');
      expect(await counts(accepted.id)).toEqual({ ...noCounts, paused: 1 });
    });
  });

  it('counts an end reported twice once', async () => {
    const accepted = await completedBatch('twice.bin');
    // A sweep or a second process reporting the same end changes nothing.
    await withOutbox(async (outbox) => {
      const job = await stack.ferry.queue.getJob(accepted.downloads[0]!);
      await outbox.report(job!, 'completed');
      await outbox.report(job!, 'completed');
      expect(await counts(accepted.id)).toEqual({ ...noCounts, completed: 1 });
    });
  });

  it('keeps an ended member ended when the record of a move it made before ending comes after its end', async () => {
    const accepted = await completedBatch('late-move.bin');
    await withOutbox(async (outbox) => {
      // As an API resume (or a worker's hand-back) records it when a worker took the member and finished it first.
      const job = await stack.ferry.queue.getJob(accepted.downloads[0]!);
      await outbox.recount(job!, 'queued');
      expect(await counts(accepted.id)).toEqual({ ...noCounts, completed: 1 });
      const batch = (await stack.ferry.request<BatchStatus>('GET', `/v1/batches/${accepted.id}`)).body;
      expect(batch).toMatchObject({ state: 'completed' });
      expect(batch.finishedAt).not.toBeNull();
    });
  });
});
