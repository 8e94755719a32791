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
});
