import { describe, expect, it } from 'vitest';
import { DASHBOARD_PASSWORD } from '../support/ferry.js';
import { serveFile, status as answer } from '../support/origin.js';
import { useStack } from '../support/stack.js';
import { receivedAtLeast } from '../support/wait.js';

const stack = useStack({ workers: 1 });

const MiB = 1024 * 1024;
const ADMIN = { authorization: `Basic ${Buffer.from(`admin:${DASHBOARD_PASSWORD}`).toString('base64')}` };

interface BoardJob {
  id: string;
  name: string;
  progress: unknown;
  delay?: number;
  failedReason: string;
  stacktrace: string[];
  data: unknown;
}
interface BoardQueue {
  name: string;
  displayName?: string;
  jobs: BoardJob[];
}

async function boardJob(queue: string, id: string): Promise<BoardJob> {
  const response = await stack.ferry.request<{ job: BoardJob }>('GET', `/admin/queues/api/queues/${queue}/${encodeURIComponent(id)}`, undefined, ADMIN);
  expect(response.status).toBe(200);
  return response.body.job;
}

async function boardQueues(activeQueue: string, status: string): Promise<BoardQueue[]> {
  const response = await stack.ferry.request<{ queues: BoardQueue[] }>(
    'GET',
    `/admin/queues/api/queues?activeQueue=${activeQueue}&status=${status}&page=1`,
    undefined,
    ADMIN,
  );
  expect(response.status).toBe(200);
  return response.body.queues;
}

const retryAllFailed = () =>
  stack.ferry.request<{ retried: number; skipped: number; cancelled: number }>('PUT', '/admin/queues/api/queues/downloads/retry/failed', undefined, {
    ...ADMIN,
    origin: stack.ferry.baseUrl,
  });

describe('the dashboard read at a glance', () => {
  it('titles a download by its filename, or else its host, and a short id', async () => {
    const named = await stack.ferry.enqueue({ url: 'https://example.com/a/b.bin', filename: 'report.csv', delayMs: 600_000 });
    const plain = await stack.ferry.enqueue({ url: 'https://files.example.org/x', delayMs: 600_000 });

    expect((await boardJob('downloads', named)).name).toBe(`report.csv · ${named.slice(0, 8)}`);
    expect((await boardJob('downloads', plain)).name).toBe(`files.example.org · ${plain.slice(0, 8)}`);
  });

  it('shows progress as a percentage, which Bull Board draws as a bar, without the checkpoint and its paths', async () => {
    const file = await stack.origin.randomFile('slow.bin', 16 * MiB);
    const id = await stack.ferry.enqueue({ url: stack.origin.route('/slow.bin', serveFile(file, { etag: '"s1"', bytesPerSecond: 2 * MiB })) });
    await receivedAtLeast(stack.ferry, id, 2 * MiB);
    const paused = await stack.ferry.request('POST', `/v1/downloads/${id}/pause`);
    expect(paused.status).toBe(200);

    const job = await boardJob('downloads', id);
    const progress = job.progress as { progress: number; receivedBytes: number; totalBytes: number };
    expect(progress.totalBytes).toBe(16 * MiB);
    expect(progress.progress).toBe(Math.floor((progress.receivedBytes / progress.totalBytes) * 100));
    expect(progress.progress).toBeGreaterThan(0);
    expect(progress.progress).toBeLessThan(100);
    expect(JSON.stringify(job)).not.toContain('checkpoint');
    expect(JSON.stringify(job)).not.toContain(stack.ferry.storageDir);
  });

  it('labels a paused download paused instead of giving it a run date ten years ahead', async () => {
    const id = await stack.ferry.enqueue({ url: 'https://example.com/later.bin', delayMs: 600_000 });
    expect((await stack.ferry.request('POST', `/v1/downloads/${id}/pause`)).status).toBe(200);

    const job = (await boardQueues('downloads', 'delayed')).find((q) => q.name === 'downloads')?.jobs.find((j) => j.id === id);
    expect(job?.name).toBe(`paused · example.com · ${id.slice(0, 8)}`);
    // Bull Board shows "will run at" only for a delay above 0.
    expect(job?.delay).toBe(0);
    // A download merely delayed keeps its run date.
    const later = await stack.ferry.enqueue({ url: 'https://example.com/later2.bin', delayMs: 600_000 });
    expect((await boardJob('downloads', later)).delay).toBe(600_000);
  });

  it("shows a failure's coded reason without the stack trace and the install's paths", async () => {
    const id = await stack.ferry.enqueue({ url: stack.origin.route('/gone.bin', answer(404)) });
    await stack.ferry.waitFor(id, ['failed']);

    const job = await boardJob('downloads', id);
    expect(job.failedReason).toMatch(/^FERRY_ERR_ORIGIN_REJECTED: /);
    expect(job.stacktrace).toEqual([]);
    expect(JSON.stringify(job)).not.toMatch(/\/apps\/worker\/|node_modules/);
  });
});

describe('retries from the dashboard', () => {
  it('"Retry all" retries failed downloads as the API does, and leaves the cancelled ones, titled cancelled', async () => {
    const cancelled = await stack.ferry.enqueue({ url: 'https://example.com/unwanted.bin', delayMs: 600_000 });
    expect((await stack.ferry.request('DELETE', `/v1/downloads/${cancelled}`)).status).toBe(200);
    const route = '/flaky.bin';
    const failed = await stack.ferry.enqueue({ url: stack.origin.route(route, answer(404)) });
    await stack.ferry.waitFor(failed, ['failed']);

    expect((await boardJob('downloads', cancelled)).name).toBe(`cancelled · example.com · ${cancelled.slice(0, 8)}`);

    const retried = await retryAllFailed();
    expect(retried.status).toBe(200);
    expect(retried.body.retried).toBeGreaterThanOrEqual(1);
    expect(retried.body.cancelled).toBe(1);
    await stack.ferry.waitFor(failed, ['failed']);
    // Retried as the API retries: the origin was asked again, with the full number of attempts.
    expect(stack.origin.requests(route)).toHaveLength(2);
    expect((await stack.ferry.status(failed)).attempts.made).toBe(1);
    expect((await stack.ferry.status(cancelled)).state).toBe('cancelled');
  });

  it('retry one download as the API does, and refuse completed ones', async () => {
    const cancelled = await stack.ferry.enqueue({ url: stack.origin.route('/again.bin', answer(404)), delayMs: 600_000 });
    expect((await stack.ferry.request('DELETE', `/v1/downloads/${cancelled}`)).status).toBe(200);
    const file = await stack.origin.randomFile('done.bin', 1000);
    const completed = await stack.ferry.enqueue({ url: stack.origin.route('/done.bin', serveFile(file)) });
    await stack.ferry.waitFor(completed, ['completed']);
    const retry = (id: string) =>
      stack.ferry.request<{ code: string }>('PUT', `/admin/queues/api/queues/downloads/${id}/retry`, undefined, { ...ADMIN, origin: stack.ferry.baseUrl });

    // A cancelled download retried on its own runs again, as POST /v1/downloads/{id}/retry would run it.
    expect((await retry(cancelled)).status).toBe(204);
    expect((await stack.ferry.waitFor(cancelled, ['failed'])).error?.code).toBe('FERRY_ERR_ORIGIN_REJECTED');

    const again = await retry(completed);
    expect(again.status).toBe(409);
    expect(again.body.code).toBe('FERRY_ERR_NOT_RETRYABLE_STATE');
    const all = await stack.ferry.request<{ code: string }>('PUT', '/admin/queues/api/queues/downloads/retry/completed', undefined, {
      ...ADMIN,
      origin: stack.ferry.baseUrl,
    });
    expect(all.status).toBe(409);
    expect(stack.origin.requests('/done.bin')).toHaveLength(1);
  });
});

describe('the callbacks queue', () => {
  it('is shown, with failed deliveries, their URLs without credentials', async () => {
    const file = await stack.origin.randomFile('cb.bin', 1024);
    const callbackUrl = `${stack.origin.route('/hook', answer(500))}?token=callback-secret-token`;
    const id = await stack.ferry.enqueue({ url: stack.origin.route('/cb.bin', serveFile(file)), callbackUrl });
    await stack.ferry.waitFor(id, ['completed']);
    await expect.poll(() => stack.origin.requests('/hook').length, { timeout: 10_000 }).toBeGreaterThan(0);

    const queues = await boardQueues('callbacks', 'latest');
    const callbacks = queues.find((q) => q.name === 'callbacks');
    expect(callbacks?.displayName).toBe('Callbacks');
    const delivery = callbacks?.jobs.find((j) => j.id.startsWith(id));
    expect(delivery?.name).toBe(`download.completed → ${stack.origin.baseUrl.replace(/^http:\/\//, '')} · ${id.slice(0, 8)}`);
    expect(JSON.stringify(callbacks)).not.toContain('callback-secret-token');
    expect(JSON.stringify(callbacks)).toContain('token=[redacted]');
  });
});
