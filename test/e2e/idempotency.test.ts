import { createHash } from 'node:crypto';
import { DownloadRequest } from '@ferry/contract';
import { HeaderSealer, requestFingerprints } from '@ferry/core';
import { Redis } from 'ioredis';
import { describe, expect, it } from 'vitest';
import { bearer, OTHER_API_KEY } from '../support/ferry.js';
import { useStack } from '../support/stack.js';

const stack = useStack();

interface Accepted {
  id: string;
  state: string;
  url: string;
}

const post = (body: unknown, key?: string) =>
  stack.ferry.request<Accepted & { code?: string; message?: string }>('POST', '/v1/downloads', body, key === undefined ? {} : { 'idempotency-key': key });

describe('Idempotency-Key', () => {
  it('answers a repeated request with the same job: 202 first, then 200 with the same id', async () => {
    const body = { url: 'https://example.com/report.pdf', filename: 'report.pdf' };
    const first = await post(body, 'order-1');
    const again = await post({ filename: 'report.pdf', url: 'https://example.com/report.pdf' }, 'order-1');
    expect(first.status).toBe(202);
    expect(again.status).toBe(200);
    expect(again.body.id).toBe(first.body.id);
    expect(again.body.state).toBe('queued');
    expect(again.headers.get('location')).toBe(`/v1/downloads/${first.body.id}`);
    expect(await stack.ferry.queue.count()).toBe(1);
  });

  it('accepts the key as an idempotencyKey field too, as the same key', async () => {
    const first = await post({ url: 'https://example.com/field.bin', idempotencyKey: 'field-1' });
    const again = await post({ url: 'https://example.com/field.bin' }, 'field-1');
    expect(first.status).toBe(202);
    expect(again.status).toBe(200);
    expect(again.body.id).toBe(first.body.id);
  });

  it('answers 409 when the same key comes with a different body, and enqueues nothing', async () => {
    const first = await post({ url: 'https://example.com/a.bin' }, 'order-2');
    const before = await stack.ferry.queue.count();
    const conflict = await post({ url: 'https://example.com/b.bin' }, 'order-2');
    expect(conflict.status).toBe(409);
    expect(conflict.body.code).toBe('FERRY_ERR_IDEMPOTENCY_CONFLICT');
    expect(conflict.body.message).toContain(first.body.id);
    expect(await stack.ferry.queue.count()).toBe(before);
  });

  it('refuses a malformed key, or a header and field that disagree', async () => {
    expect((await post({ url: 'https://example.com/a.bin' }, 'has space')).status).toBe(400);
    expect((await post({ url: 'https://example.com/a.bin', idempotencyKey: 'one' }, 'two')).status).toBe(400);
  });

  it('creates exactly one job from 1,000 concurrent posts of one key', async () => {
    const before = await stack.ferry.queue.count();
    const responses = await Promise.all(Array.from({ length: 1000 }, () => post({ url: 'https://example.com/stampede.bin' }, 'stampede')));
    expect(responses.filter((r) => r.status === 202)).toHaveLength(1);
    expect(responses.filter((r) => r.status === 200)).toHaveLength(999);
    expect(new Set(responses.map((r) => r.body.id)).size).toBe(1);
    expect(await stack.ferry.queue.count()).toBe(before + 1);
  });

  it('still answers with the same id after retention removed the job', async () => {
    const first = await post({ url: 'https://example.com/old.bin' }, 'order-3');
    await stack.ferry.queue.remove(first.body.id);
    const again = await post({ url: 'https://example.com/old.bin' }, 'order-3');
    expect(again.status).toBe(200);
    expect(again.body).toEqual({ id: first.body.id, state: 'expired', url: 'https://example.com/old.bin' });
    expect(await stack.ferry.queue.getJob(first.body.id)).toBeUndefined();
  });

  it('answers a replay with the state GET shows, paused and cancelled included', async () => {
    const first = await post({ url: 'https://example.com/held.bin' }, 'order-held');
    await stack.ferry.request('POST', `/v1/downloads/${first.body.id}/pause`);
    expect((await post({ url: 'https://example.com/held.bin' }, 'order-held')).body.state).toBe('paused');
    await stack.ferry.request('DELETE', `/v1/downloads/${first.body.id}`);
    expect((await post({ url: 'https://example.com/held.bin' }, 'order-held')).body.state).toBe('cancelled');
  });

  it('is scoped to the API key: another caller using the same key string gets its own job', async () => {
    const mine = await post({ url: 'https://example.com/shared-key.bin' }, 'shared');
    const theirs = await stack.ferry.request<Accepted>(
      'POST',
      '/v1/downloads',
      { url: 'https://example.com/shared-key.bin' },
      { ...bearer(OTHER_API_KEY), 'idempotency-key': 'shared' },
    );
    expect(theirs.status).toBe(202);
    expect(theirs.body.id).not.toBe(mine.body.id);
  });

  it('takes over a claim an earlier build left unfinished (no job, no claim time), and enqueues its id', async () => {
    const body = { url: 'https://example.com/stuck.bin' };
    const stuckId = '0b7c7f4e-94a1-4f43-9d6f-2a0b4f1f3c11';
    const redis = new Redis(stack.redis.url);
    const key = `ferry:idempotency:${createHash('sha256').update('test\0stuck').digest('hex')}`;
    await redis.set(
      key,
      JSON.stringify({ id: stuckId, fingerprint: requestFingerprints(DownloadRequest.parse(body), new HeaderSealer([]))[0], enqueued: false }),
      'EX',
      3600,
    );
    redis.disconnect();
    const again = await post(body, 'stuck');
    expect(again.status).toBe(202);
    expect(again.body.id).toBe(stuckId);
    expect(await stack.ferry.queue.getJob(stuckId)).toBeDefined();
    expect((await post(body, 'stuck')).body).toMatchObject({ id: stuckId, state: 'queued' });
  });
});
