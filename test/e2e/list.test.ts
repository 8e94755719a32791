import type { BatchAccepted, DownloadAccepted, DownloadList } from '@ferry/contract';
import { Redis } from 'ioredis';
import { describe, expect, it } from 'vitest';
import { OTHER_API_KEY, bearer, type ApiResponse, type Ferry } from '../support/ferry.js';
import { serveFile } from '../support/origin.js';
import { useStack } from '../support/stack.js';
import { until } from '../support/wait.js';

// No workers: every download stays queued unless a test changes it.
const stack = useStack({ eachTest: true });

async function enqueueMany(ferry: Ferry, count: number, tag: string): Promise<string[]> {
  const file = await stack.origin.randomFile(`${tag}.bin`, 16);
  const url = stack.origin.route(`/${tag}.bin`, serveFile(file));
  const ids: string[] = [];
  // One at a time, so creation order is known.
  for (let i = 0; i < count; i += 1) ids.push(await ferry.enqueue({ url: `${url}?n=${i}` }));
  return ids;
}

async function listAll(ferry: Ferry, query: string, between?: () => Promise<void>): Promise<{ ids: string[]; pages: number[] }> {
  const ids: string[] = [];
  const pages: number[] = [];
  let cursor: string | null = null;
  do {
    const response: ApiResponse<DownloadList> = await ferry.request<DownloadList>('GET', `/v1/downloads?${query}${cursor === null ? '' : `&cursor=${cursor}`}`);
    expect(response.status).toBe(200);
    ids.push(...response.body.items.map((item) => item.id));
    pages.push(response.body.items.length);
    cursor = response.body.nextCursor;
    await between?.();
  } while (cursor !== null);
  return { ids, pages };
}

describe('GET /v1/downloads', () => {
  it('pages through the caller’s downloads newest first, without repeats or gaps while new ones arrive', async () => {
    const { ferry } = stack;
    const mine = await enqueueMany(ferry, 7, 'mine');
    await ferry.request(
      'POST',
      '/v1/downloads',
      { url: stack.origin.route('/theirs.bin', serveFile(await stack.origin.randomFile('theirs.bin', 1))) },
      bearer(OTHER_API_KEY),
    );

    let added: string[] = [];
    const listed = await listAll(ferry, 'limit=3', async () => {
      if (added.length === 0) added = await enqueueMany(ferry, 2, 'late');
    });

    expect(listed.ids).toEqual([...mine].reverse());
    expect(listed.pages).toEqual([3, 3, 1]);
    // The late ones are on a fresh first page.
    const first = await ferry.request<DownloadList>('GET', '/v1/downloads?limit=2');
    expect(first.body.items.map((item) => item.id)).toEqual([...added].reverse());
    expect(first.body.items[0]).toMatchObject({ state: 'queued', batchId: null });
  });

  it('filters by state, and forgets downloads retention removed', async () => {
    const { ferry } = stack;
    const ids = await enqueueMany(ferry, 6, 'filter');
    const [a, b, c] = ids;
    for (const id of [a, c]) expect((await ferry.request<DownloadAccepted>('DELETE', `/v1/downloads/${id}`)).body.state).toBe('cancelled');
    await ferry.queue.remove(b!);

    const cancelled = await listAll(ferry, 'state=cancelled&limit=1');
    expect(cancelled.ids).toEqual([c, a]);
    const queued = await listAll(ferry, 'state=queued');
    expect(queued.ids).toEqual(ids.slice(3).reverse());
    const everything = await listAll(ferry, 'limit=100');
    expect(everything.ids).not.toContain(b);
    expect(everything.ids).toHaveLength(5);
  });

  it('lists a batch’s members in the order the batch request gave them, with its own cursors', async () => {
    const { ferry } = stack;
    const file = await stack.origin.randomFile('member.bin', 16);
    const url = stack.origin.route('/member.bin', serveFile(file));
    await enqueueMany(ferry, 3, 'outside');
    const batch = await ferry.request<BatchAccepted>('POST', '/v1/batches', { downloads: [0, 1, 2, 3, 4].map((n) => ({ url: `${url}?m=${n}` })) });
    expect(batch.status).toBe(202);

    const listed = await listAll(ferry, `batch=${batch.body.id}&limit=2`);
    expect(listed.ids).toEqual(batch.body.downloads);
    expect(listed.pages).toEqual([2, 2, 1]);
    const ownerPage = await ferry.request<DownloadList>('GET', '/v1/downloads?limit=1');
    const mixed = await ferry.request<{ code: string; issues: Array<{ path: string }> }>(
      'GET',
      `/v1/downloads?batch=${batch.body.id}&cursor=${ownerPage.body.nextCursor}`,
    );
    expect(mixed.status).toBe(400);
    expect(mixed.body.issues[0]?.path).toBe('cursor');
    const theirs = await ferry.request<{ code: string }>('GET', `/v1/downloads?batch=${batch.body.id}`, undefined, bearer(OTHER_API_KEY));
    expect(theirs.status).toBe(404);
    expect(theirs.body.code).toBe('FERRY_ERR_NOT_FOUND');
  });

  it('forgets downloads retention removed even for a key that never lists, once a worker prunes', async () => {
    const { ferry } = stack;
    const ids = await enqueueMany(ferry, 3, 'pruned');
    const redis = new Redis(stack.redis.url);
    const indexKey = 'ferry:owner:test';
    expect(await redis.zcard(indexKey)).toBe(3);
    for (const id of ids.slice(0, 2)) await ferry.queue.remove(id);

    await ferry.startWorker({ FERRY_JANITOR_INTERVAL_MS: '1000' });
    await until(async () => (await redis.zcard(indexKey)) <= 1, 'the pruner to drop the entries of removed downloads', 10_000);
    expect(await redis.zrange(indexKey, 0, -1)).toEqual([expect.stringMatching(new RegExp(`:${ids[2]}$`))]);
    redis.disconnect();
  });

  it('keeps a fresh entry whose job is not there yet: the API lists a download just before it enqueues it', async () => {
    const { ferry } = stack;
    const redis = new Redis(stack.redis.url);
    const indexKey = 'ferry:owner:test';
    // Entries as the API writes them before their jobs: one of a request still enqueueing, one of a request that failed long ago.
    const fresh = `${String(Date.now()).padStart(15, '0')}:enqueueing-now`;
    const stale = `${String(Date.now() - 60_000).padStart(15, '0')}:failed-long-ago`;
    await redis.zadd(indexKey, 0, fresh, 0, stale);

    await ferry.startWorker({ FERRY_JANITOR_INTERVAL_MS: '1000' });
    await until(async () => (await redis.zscore(indexKey, stale)) === null, 'the pruner to drop the stale entry', 10_000);
    expect(await redis.zscore(indexKey, fresh)).not.toBeNull();
    redis.disconnect();
  });

  it('shows another key nothing of this key’s downloads', async () => {
    const { ferry } = stack;
    await enqueueMany(ferry, 2, 'private');
    const theirs = await ferry.request<DownloadList>('GET', '/v1/downloads', undefined, bearer(OTHER_API_KEY));
    expect(theirs.body).toEqual({ items: [], nextCursor: null });
  });

  it('refuses a bad query with the field and what to send', async () => {
    const { ferry } = stack;
    const cases: Array<[string, string, RegExp]> = [
      ['limit=0', 'limit', /at least 1/],
      ['limit=5000', 'limit', /at most 1000/],
      ['state=done', 'state', /queued.*cancelled/],
      ['cursor=not-one-of-ours', 'cursor', /nextCursor/],
      ['colour=blue', 'colour', /not a known field.*state, batch, limit, cursor/],
    ];
    for (const [query, field, message] of cases) {
      const response = await ferry.request<{ code: string; message: string; issues: Array<{ path: string; message: string }> }>(
        'GET',
        `/v1/downloads?${query}`,
      );
      expect(response.status, query).toBe(400);
      expect(response.body.code).toBe('FERRY_ERR_VALIDATION');
      expect(response.body.message).toMatch(/^Invalid list query: /);
      expect(response.body.issues[0]?.path).toBe(field);
      expect(response.body.issues[0]?.message).toMatch(message);
    }
  });
});
