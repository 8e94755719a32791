import { describe, expect, it } from 'vitest';
import { DASHBOARD_PASSWORD } from '../support/ferry.js';
import { useStack } from '../support/stack.js';

const stack = useStack();

const basic = (user: string, password: string) => ({ authorization: `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}` });
const ADMIN = basic('admin', DASHBOARD_PASSWORD);

describe('Bull Board at /admin/queues', () => {
  it('answers 401 with a Basic challenge without credentials', async () => {
    const response = await stack.ferry.request<{ code: string }>('GET', '/admin/queues');
    expect(response.status).toBe(401);
    expect(response.headers.get('www-authenticate')).toMatch(/^Basic realm="Ferry dashboard"/);
    expect(response.body.code).toBe('FERRY_ERR_UNAUTHORIZED');
  });

  it('answers 401 to a wrong password, and to its API as well as its page', async () => {
    expect((await stack.ferry.request('GET', '/admin/queues', undefined, basic('admin', 'wrong-password'))).status).toBe(401);
    expect((await stack.ferry.request('GET', '/admin/queues/api/queues', undefined, basic('admin', 'wrong-password'))).status).toBe(401);
    expect((await stack.ferry.request('GET', '/admin/queues/api/queues')).status).toBe(401);
  });

  it('serves the dashboard page with the credentials', async () => {
    const response = await stack.ferry.request<string>('GET', '/admin/queues', undefined, ADMIN);
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toMatch(/text\/html/);
    expect(response.body).toContain('<div id="root">');
  });

  it('lists the downloads queue with its jobs, request headers shown only as encrypted', async () => {
    const id = await stack.ferry.enqueue({ url: 'https://example.com/secret.bin', headers: { Authorization: 'Bearer very-secret-token' } });

    const response = await stack.ferry.request<{ queues: Array<{ name: string; jobs: Array<{ id: string; data: unknown }> }> }>(
      'GET',
      '/admin/queues/api/queues?activeQueue=downloads&status=waiting&page=1',
      undefined,
      ADMIN,
    );

    expect(response.status).toBe(200);
    const queue = response.body.queues.find((q) => q.name === 'downloads');
    expect(queue).toBeDefined();
    const job = queue?.jobs.find((j) => j.id === id);
    expect(job?.data).toEqual({ owner: 'test', request: { url: 'https://example.com/secret.bin' }, sealedHeaders: '[encrypted]' });
    expect(JSON.stringify(response.body)).not.toContain('very-secret-token');

    const detail = await stack.ferry.request('GET', `/admin/queues/api/queues/downloads/${id}`, undefined, ADMIN);
    expect(detail.status).toBe(200);
    expect(JSON.stringify(detail.body)).toContain('[encrypted]');
    expect(JSON.stringify(detail.body)).not.toContain('very-secret-token');
  });

  it('shows URLs without query values or fragment, which may hold credentials', async () => {
    const id = await stack.ferry.enqueue({
      url: 'https://example.com/file.bin?X-Amz-Signature=presigned-secret&part=2#frag-secret',
      callbackUrl: 'https://hooks.example/ferry?token=callback-token',
      delayMs: 600_000,
    });

    const detail = await stack.ferry.request<{ job: { data: { request: { url: string; callbackUrl: string } } } }>(
      'GET',
      `/admin/queues/api/queues/downloads/${id}`,
      undefined,
      ADMIN,
    );

    expect(detail.body.job.data.request).toMatchObject({
      url: 'https://example.com/file.bin?X-Amz-Signature=[redacted]&part=[redacted]#[redacted]',
      callbackUrl: 'https://hooks.example/ferry?token=[redacted]',
    });
    expect(JSON.stringify(detail.body)).not.toMatch(/presigned-secret|frag-secret|callback-token/);
  });
});

/** A request as the dashboard's own page sends it: credentials and its origin. */
const fromBoard = (origin: string) => ({ ...ADMIN, origin });

describe('when the dashboard would change what only the API may write', () => {
  it("refuses to edit a download's data, so its request headers keep their values", async () => {
    const id = await stack.ferry.enqueue({ url: 'https://example.com/kept.bin', headers: { Authorization: 'Bearer keep-me' }, delayMs: 600_000 });
    const stored = (await stack.ferry.queue.getJob(id))?.data as { sealedHeaders?: string };
    expect(stored.sealedHeaders).toMatch(/^fh1\./);
    const shown = await stack.ferry.request<{ job: { data: unknown } }>('GET', `/admin/queues/api/queues/downloads/${id}`, undefined, ADMIN);

    // What the "edit job data" dialog sends when saved unchanged: the data as it shows it.
    const edit = await stack.ferry.request<{ code: string; message: string }>(
      'PATCH',
      `/admin/queues/api/queues/downloads/${id}/update-data`,
      { jobData: shown.body.job.data },
      fromBoard(stack.ferry.baseUrl),
    );

    expect(edit.status).toBe(403);
    expect(edit.body.code).toBe('FERRY_ERR_DASHBOARD_REFUSED');
    expect(edit.body.message).toMatch(/POST \/v1\/downloads/);
    expect((await stack.ferry.queue.getJob(id))?.data).toEqual(stored);
  });

  it('refuses to add jobs to the downloads and callbacks queues, which would skip validation and pose as any owner', async () => {
    const before = await stack.ferry.queue.getJobCounts();
    for (const queue of ['downloads', 'callbacks']) {
      const add = await stack.ferry.request<{ code: string }>(
        'POST',
        `/admin/queues/api/queues/${queue}/add`,
        { name: 'download', data: { owner: 'other', request: { url: 'https://example.com/forged.bin' } }, options: {} },
        fromBoard(stack.ferry.baseUrl),
      );
      expect(add.status, queue).toBe(403);
      expect(add.body.code, queue).toBe('FERRY_ERR_DASHBOARD_REFUSED');
    }
    expect(await stack.ferry.queue.getJobCounts()).toEqual(before);
  });

  it('refuses the routes that change things it has not been reviewed for, such as running a job scheduler', async () => {
    const run = await stack.ferry.request<{ code: string; message: string }>(
      'PUT',
      '/admin/queues/api/queues/downloads/job-schedulers/any/run',
      undefined,
      fromBoard(stack.ferry.baseUrl),
    );
    expect(run.status).toBe(403);
    expect(run.body.code).toBe('FERRY_ERR_DASHBOARD_REFUSED');
    expect(run.body.message).toContain('PUT /api/queues/:queueName/job-schedulers/:schedulerId/run');
    // A path Bull Board does not have is still a 404.
    expect((await stack.ferry.request('PUT', '/admin/queues/api/no-such-route', undefined, fromBoard(stack.ferry.baseUrl))).status).toBe(404);
  });
});

describe("requests that change jobs from outside the dashboard's own page", () => {
  const pause = (headers: Record<string, string>) =>
    stack.ferry.request<{ code: string }>('PUT', '/admin/queues/api/queues/downloads/pause', undefined, headers);
  const resume = () => stack.ferry.request('PUT', '/admin/queues/api/queues/downloads/resume', undefined, fromBoard(stack.ferry.baseUrl));

  it('refuses a Referer of another site when there is no Origin, and leaves the queue running', async () => {
    const response = await pause({ ...ADMIN, referer: 'https://evil.example/page.html' });
    expect(response.status).toBe(403);
    expect(response.body.code).toBe('FERRY_ERR_CROSS_SITE');
    expect(await stack.ferry.queue.isPaused()).toBe(false);
  });

  it('refuses an Origin of another site, and Origin: null', async () => {
    for (const origin of ['https://evil.example', 'null']) {
      const response = await pause({ ...ADMIN, origin });
      expect(response.status, origin).toBe(403);
      expect(response.body.code, origin).toBe('FERRY_ERR_CROSS_SITE');
    }
    expect(await stack.ferry.queue.isPaused()).toBe(false);
  });

  it('refuses a request with neither Origin nor Referer, and says which header to send', async () => {
    const response = await stack.ferry.request<{ code: string; message: string }>('PUT', '/admin/queues/api/queues/downloads/pause', undefined, ADMIN);
    expect(response.status).toBe(403);
    expect(response.body.code).toBe('FERRY_ERR_CROSS_SITE');
    expect(response.body.message).toContain(`Origin: ${stack.ferry.baseUrl}`);
    expect(await stack.ferry.queue.isPaused()).toBe(false);
  });

  it("accepts the dashboard's own Origin, or its own Referer without an Origin", async () => {
    expect((await pause(fromBoard(stack.ferry.baseUrl))).status).toBe(200);
    expect(await stack.ferry.queue.isPaused()).toBe(true);
    expect((await resume()).status).toBe(200);
    expect((await pause({ ...ADMIN, referer: `${stack.ferry.baseUrl}/admin/queues/queue/downloads` })).status).toBe(200);
    expect((await resume()).status).toBe(200);
    expect(await stack.ferry.queue.isPaused()).toBe(false);
  });
});
