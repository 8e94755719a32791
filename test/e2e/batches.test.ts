import { type BatchAccepted, type BatchStatus, type BatchSummary, type DownloadList } from '@ferry/contract';
import { CALLBACK_QUEUE, verifyWebhook } from '@ferry/core';
import { Queue } from 'bullmq';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bearer, OTHER_API_KEY, keyWebhookSecret, type Ferry } from '../support/ferry.js';
import { serveFile, type RandomFile } from '../support/origin.js';
import { asHeaders, receiver } from '../support/receiver.js';
import { useStack } from '../support/stack.js';
import { receivedAtLeast, until } from '../support/wait.js';

const stack = useStack({ workers: 1, env: { FERRY_WORKER_CONCURRENCY: '16' } });

interface ErrorBody {
  code: string;
  message: string;
  issues: Array<{ path: string; message: string }>;
}

let callbacks: Queue;
beforeAll(() => {
  callbacks = new Queue(CALLBACK_QUEUE, { connection: { url: stack.redis.url }, prefix: 'ferry' });
});
afterAll(async () => {
  await callbacks?.close();
});

async function submit(body: unknown): Promise<BatchAccepted> {
  const response = await stack.ferry.request<BatchAccepted>('POST', '/v1/batches', body);
  if (response.status !== 202) throw new Error(`POST /v1/batches answered ${response.status}: ${JSON.stringify(response.body)}`);
  expect(response.headers.get('location')).toBe(`/v1/batches/${response.body.id}`);
  return response.body;
}

async function batchStatus(ferry: Ferry, id: string, query = ''): Promise<BatchStatus> {
  const response = await ferry.request<BatchStatus>('GET', `/v1/batches/${id}${query}`);
  if (response.status !== 200) throw new Error(`GET /v1/batches/${id} answered ${response.status}: ${JSON.stringify(response.body)}`);
  return response.body;
}

async function waitForEnd(id: string, timeoutMs = 90_000): Promise<BatchStatus> {
  let last: BatchStatus | undefined;
  await until(
    async () => {
      last = await batchStatus(stack.ferry, id);
      return last.finishedAt !== null;
    },
    `batch ${id} to end`,
    timeoutMs,
  );
  return last!;
}

/** Every member id, page by page, in the order the batch holds them. */
async function allMembers(id: string, limit: number): Promise<Array<{ id: string; state: string }>> {
  const members: Array<{ id: string; state: string }> = [];
  let cursor: string | null = '';
  while (cursor !== null) {
    const page = await batchStatus(stack.ferry, id, `?limit=${limit}${cursor === '' ? '' : `&cursor=${cursor}`}`);
    members.push(...page.members.items);
    cursor = page.members.nextCursor;
  }
  return members;
}

async function jobCount(): Promise<number> {
  const counts = await stack.ferry.queue.getJobCounts();
  return Object.values(counts).reduce((a, b) => a + b, 0);
}

const noCounts = { queued: 0, active: 0, delayed: 0, paused: 0, completed: 0, failed: 0, cancelled: 0, expired: 0 };

describe('when a batch of 1,000 small files runs', () => {
  it('completes with every member counted, its bytes summed, and sends one signed batch.completed callback', async () => {
    const file: RandomFile = await stack.origin.randomFile('batch-small.bin', 2048);
    const hook = receiver(stack.origin, '/hooks/batch-1000', 200);
    const downloads = Array.from({ length: 1000 }, (_, i) => ({ url: stack.origin.route(`/batch/small-${i}.bin`, serveFile(file)) }));
    const accepted = await submit({ downloads, callbackUrl: hook.url });
    expect(accepted.size).toBe(1000);
    expect(new Set(accepted.downloads).size).toBe(1000);

    const ended = await waitForEnd(accepted.id);
    expect(ended.state).toBe('completed');
    expect(ended.counts).toEqual({ ...noCounts, completed: 1000 });
    expect(ended.bytes).toEqual({ received: 1000 * file.size, expected: 1000 * file.size });
    expect(ended.size).toBe(1000);

    // Pages follow the request's order, whatever size they are.
    const members = await allMembers(accepted.id, 300);
    expect(members.map((m) => m.id)).toEqual(accepted.downloads);
    expect(new Set(members.map((m) => m.state))).toEqual(new Set(['completed']));
    const sample = await stack.ferry.status(accepted.downloads[417]!);
    expect(sample.batchId).toBe(accepted.id);
    expect(sample.result?.sha256).toBe(file.sha256);

    await until(() => hook.deliveries.length >= 1, 'the batch callback');
    const callbackId = `${accepted.id}.batch.completed`;
    await until(async () => (await callbacks.getJobState(callbackId)) === 'completed', 'the callback job to finish');
    expect(hook.deliveries).toHaveLength(1);
    const { headers, body } = hook.deliveries[0]!;
    const event = verifyWebhook(keyWebhookSecret('test'), asHeaders(headers), body) as { type: string; data: BatchSummary };
    expect(event.type).toBe('batch.completed');
    expect(headers['webhook-id']).toBe(callbackId);
    expect(event.data).toMatchObject({ id: accepted.id, state: 'completed', size: 1000, counts: { ...noCounts, completed: 1000 } });
  }, 120_000);
});

describe('when some members of a batch get 404', () => {
  it('ends completed_with_failures with the right counts, and a retried member reopens it without a second callback', async () => {
    const file = await stack.origin.randomFile('batch-mixed.bin', 4096);
    const hook = receiver(stack.origin, '/hooks/batch-mixed', 200);
    const missing = new Set([2, 5, 9]);
    const downloads = Array.from({ length: 10 }, (_, i) => ({
      url: missing.has(i) ? stack.origin.url(`/batch/missing-${i}.bin`) : stack.origin.route(`/batch/mixed-${i}.bin`, serveFile(file)),
    }));
    const accepted = await submit({ downloads, callbackUrl: hook.url });

    const ended = await waitForEnd(accepted.id);
    expect(ended.state).toBe('completed_with_failures');
    expect(ended.counts).toEqual({ ...noCounts, completed: 7, failed: 3 });
    // A failed member brings no more bytes: the batch expects what it got.
    expect(ended.bytes).toEqual({ received: 7 * file.size, expected: 7 * file.size });
    expect(ended.members.items.map((m) => m.state)).toEqual(downloads.map((_, i) => (missing.has(i) ? 'failed' : 'completed')));
    expect(ended.members.items.map((m) => m.url)).toEqual(downloads.map((d) => d.url));
    const failed = await stack.ferry.status(accepted.downloads[5]!);
    expect(failed.error?.code).toBe('FERRY_ERR_ORIGIN_REJECTED');
    await until(() => hook.deliveries.length === 1, 'the batch callback');
    expect(JSON.parse(hook.deliveries[0]!.body)).toMatchObject({
      type: 'batch.completed',
      data: { state: 'completed_with_failures', counts: { completed: 7, failed: 3 } },
    });

    // The files appear; retrying the failed members brings the batch back to running, then to completed.
    for (const i of missing) stack.origin.route(`/batch/missing-${i}.bin`, serveFile(file));
    for (const i of missing) expect((await stack.ferry.request('POST', `/v1/downloads/${accepted.downloads[i]}/retry`)).status).toBe(202);
    const reopened = await batchStatus(stack.ferry, accepted.id);
    expect(reopened.counts.failed).toBeLessThan(3);
    const again = await waitForEnd(accepted.id);
    expect(again.state).toBe('completed');
    expect(again.counts).toEqual({ ...noCounts, completed: 10 });
    expect(again.bytes).toEqual({ received: 10 * file.size, expected: 10 * file.size });
    expect(hook.deliveries).toHaveLength(1);
  }, 60_000);
});

describe('when a running batch is cancelled', () => {
  it('cancels its waiting and active members, ends cancelled with the right counts, and sends one callback', async () => {
    const slow = await stack.origin.randomFile('batch-slow.bin', 512 * 1024);
    const quick = await stack.origin.randomFile('batch-quick.bin', 1000);
    const hook = receiver(stack.origin, '/hooks/batch-cancelled', 200);
    // 20 slow members for 16 worker slots: some are running when the batch is cancelled, some still waiting.
    const downloads = [
      { url: stack.origin.route('/batch/quick.bin', serveFile(quick)) },
      ...Array.from({ length: 20 }, (_, i) => ({ url: stack.origin.route(`/batch/slow-${i}.bin`, serveFile(slow, { bytesPerSecond: 64 * 1024 })) })),
    ];
    const accepted = await submit({ downloads, callbackUrl: hook.url });
    await stack.ferry.waitFor(accepted.downloads[0]!);
    await until(async () => (await batchStatus(stack.ferry, accepted.id)).counts.active > 0, 'members to start');

    const cancel = await stack.ferry.request<BatchStatus>('DELETE', `/v1/batches/${accepted.id}`);
    expect(cancel.status).toBe(202);
    expect(cancel.body.state).toBe('cancelled');
    expect(cancel.body.counts.queued).toBe(0);

    const ended = await waitForEnd(accepted.id);
    expect(ended.state).toBe('cancelled');
    expect(ended.counts).toEqual({ ...noCounts, completed: 1, cancelled: 20 });
    expect((await stack.ferry.status(accepted.downloads[20]!)).error?.code).toBe('FERRY_ERR_CANCELLED');
    await until(() => hook.deliveries.length === 1, 'the batch callback');
    expect(JSON.parse(hook.deliveries[0]!.body)).toMatchObject({
      type: 'batch.completed',
      data: { state: 'cancelled', counts: { completed: 1, cancelled: 20 } },
    });

    const again = await stack.ferry.request<BatchStatus>('DELETE', `/v1/batches/${accepted.id}`);
    expect(again.status).toBe(202);
    expect(again.body.counts).toEqual(ended.counts);
  }, 60_000);

  it('keeps what a cancelled active member received, in its status and in the batch’s bytes', async () => {
    const MiB = 1024 * 1024;
    const quick = await stack.origin.randomFile('batch-kept-quick.bin', 1000);
    const big = await stack.origin.randomFile('batch-kept-big.bin', 32 * MiB);
    const accepted = await submit({
      downloads: [
        { url: stack.origin.route('/batch/kept-quick.bin', serveFile(quick)) },
        { url: stack.origin.route('/batch/kept-big.bin', serveFile(big, { bytesPerSecond: 4 * MiB })) },
      ],
    });
    const [quickId, bigId] = accepted.downloads as [string, string];
    await stack.ferry.waitFor(quickId);
    await receivedAtLeast(stack.ferry, bigId, 2 * MiB);

    expect((await stack.ferry.request('DELETE', `/v1/downloads/${bigId}`)).status).toBe(200);
    const cancelled = await stack.ferry.waitFor(bigId, ['cancelled']);

    expect(cancelled.progress.receivedBytes).toBeGreaterThanOrEqual(2 * MiB);
    expect(cancelled.progress.receivedBytes).toBeLessThan(big.size);
    expect(cancelled.progress.totalBytes).toBe(big.size);
    const ended = await waitForEnd(accepted.id);
    expect(ended.counts).toEqual({ ...noCounts, completed: 1, cancelled: 1 });
    expect(ended.bytes.received).toBe(quick.size + cancelled.progress.receivedBytes);
  });

  it('runs again when a member of a cancelled batch is retried, and a second cancel stops it', async () => {
    const file = await stack.origin.randomFile('batch-recancel.bin', 8 * 1024 * 1024);
    const accepted = await submit({ downloads: [{ url: stack.origin.route('/batch/recancel.bin', serveFile(file, { bytesPerSecond: 1024 * 1024 })) }] });
    const [id] = accepted.downloads as [string];
    expect((await stack.ferry.request('DELETE', `/v1/batches/${accepted.id}`)).status).toBe(202);
    await stack.ferry.waitFor(id, ['cancelled']);
    expect((await stack.ferry.request('POST', `/v1/downloads/${id}/retry`)).status).toBe(202);
    expect((await batchStatus(stack.ferry, accepted.id)).state).toBe('running');
    expect((await stack.ferry.request('DELETE', `/v1/batches/${accepted.id}`)).status).toBe(202);
    expect((await stack.ferry.waitFor(id, ['cancelled', 'completed', 'failed'])).state).toBe('cancelled');
    expect((await waitForEnd(accepted.id)).state).toBe('cancelled');
  });

  it('refuses to cancel a batch that has ended', async () => {
    const file = await stack.origin.randomFile('batch-over.bin', 100);
    const accepted = await submit({ downloads: [{ url: stack.origin.route('/batch/over.bin', serveFile(file)) }] });
    await waitForEnd(accepted.id);
    const response = await stack.ferry.request<ErrorBody>('DELETE', `/v1/batches/${accepted.id}`);
    expect(response.status).toBe(409);
    expect(response.body).toMatchObject({ code: 'FERRY_ERR_WRONG_STATE', message: `batch ${accepted.id} has ended; only a running batch can be cancelled` });
  });
});

describe('when a batch is invalid', () => {
  it('answers 400 naming every failing index, and enqueues nothing', async () => {
    const before = await jobCount();
    const ok = { url: stack.origin.url('/never.bin') };
    const response = await stack.ferry.request<ErrorBody>('POST', '/v1/batches', {
      downloads: [
        ok,
        { url: 'http://169.254.169.254/latest/meta-data' },
        ok,
        { url: 'http://127.0.0.1:40000/secret' },
        ok,
        { url: stack.origin.url('/x'), idempotencyKey: 'k1' },
      ],
    });
    expect(response.status).toBe(400);
    expect(response.body.code).toBe('FERRY_ERR_VALIDATION');
    expect(response.body.issues.map((i) => i.path)).toEqual(['downloads.1', 'downloads.3', 'downloads.5.idempotencyKey']);
    expect(response.body.issues[0]!.message).toMatch(/^FERRY_ERR_BLOCKED_DESTINATION: destination refused \(metadata\)/);
    expect(response.body.issues[1]!.message).toMatch(/^FERRY_ERR_BLOCKED_DESTINATION: .*loopback/);
    expect(response.body.message).toMatch(/^Invalid batch: downloads\.1 /);

    const schema = await stack.ferry.request<ErrorBody>('POST', '/v1/batches', { downloads: [ok, { url: 'not a url' }, { url: ok.url, priority: -1 }] });
    expect(schema.status).toBe(400);
    expect(schema.body.issues.map((i) => i.path)).toEqual(['downloads.1.url', 'downloads.2.priority']);

    const empty = await stack.ferry.request<ErrorBody>('POST', '/v1/batches', { downloads: [] });
    expect(empty.status).toBe(400);
    expect(empty.body.issues).toEqual([{ path: 'downloads', message: 'must hold at least one download' }]);
    expect(await jobCount()).toBe(before);
  });

  it('refuses more downloads than FERRY_BATCH_MAX_SIZE, though the body is far over the other routes’ 256 KiB limit', async () => {
    const downloads = Array.from({ length: 10_001 }, (_, i) => ({ url: stack.origin.url(`/too-many/${i}`) }));
    const response = await stack.ferry.request<ErrorBody>('POST', '/v1/batches', { downloads });
    expect(response.status).toBe(400);
    expect(response.body.issues).toEqual([
      { path: 'downloads', message: 'holds 10001 downloads; a batch holds at most 10000 (FERRY_BATCH_MAX_SIZE): split it' },
    ]);
    const single = await stack.ferry.request<ErrorBody>('POST', '/v1/downloads', { url: stack.origin.url('/x'), headers: { 'x-pad': 'p'.repeat(300_000) } });
    expect(single.status).toBe(413);
  });
});

describe('who sees a batch', () => {
  it('answers 404 for another key’s batch, exactly as for one that never existed', async () => {
    const file = await stack.origin.randomFile('batch-owned.bin', 100);
    const accepted = await submit({ downloads: [{ url: stack.origin.route('/batch/owned.bin', serveFile(file)) }] });
    const theirs = await stack.ferry.request<ErrorBody>('GET', `/v1/batches/${accepted.id}`, undefined, bearer(OTHER_API_KEY));
    const nobody = await stack.ferry.request<ErrorBody>('GET', '/v1/batches/00000000-0000-4000-8000-000000000000');
    expect(theirs.status).toBe(404);
    expect(theirs.body.code).toBe('FERRY_ERR_NOT_FOUND');
    expect(nobody.status).toBe(404);
    expect(theirs.body.message.replace(accepted.id, 'ID')).toBe(nobody.body.message.replace('00000000-0000-4000-8000-000000000000', 'ID'));

    // Members are the key's own downloads, listed like any other.
    const list = await stack.ferry.request<DownloadList>('GET', '/v1/downloads?limit=1000');
    if (list.status === 200) expect(list.body.items.map((d) => d.id)).toContain(accepted.downloads[0]);
    await waitForEnd(accepted.id);
  });

  it('rejects a cursor it did not hand out', async () => {
    const file = await stack.origin.randomFile('batch-cursor.bin', 100);
    const accepted = await submit({ downloads: [{ url: stack.origin.route('/batch/cursor.bin', serveFile(file)) }] });
    const response = await stack.ferry.request<ErrorBody>('GET', `/v1/batches/${accepted.id}?cursor=99`);
    expect(response.status).toBe(400);
    expect(response.body.issues).toEqual([{ path: 'cursor', message: "must be a previous page's nextCursor, unchanged" }]);
  });
});
