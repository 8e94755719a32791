import { describe, expect, it } from 'vitest';
import { hashApiKey } from '@ferry/core';
import { API_KEY, bearer, DASHBOARD_PASSWORD, OTHER_API_KEY } from '../support/ferry.js';
import { useStack } from '../support/stack.js';

const LIMITED_KEY = 'fry_a-key-that-only-the-rate-limit-test-uses';
const stack = useStack({
  env: {
    FERRY_API_KEYS: Object.entries({ test: API_KEY, other: OTHER_API_KEY, limited: LIMITED_KEY })
      .map(([name, key]) => `${name}:${hashApiKey(key)}`)
      .join(','),
    FERRY_API_RATE_LIMIT: '20',
    FERRY_API_RATE_LIMIT_WINDOW_MS: '60000',
  },
});
const ADMIN = { authorization: `Basic ${Buffer.from(`admin:${DASHBOARD_PASSWORD}`).toString('base64')}` };

interface ErrorBody {
  code: string;
  message: string;
}

describe('API keys', () => {
  it('answers 401 with a code and a Bearer challenge without a key', async () => {
    const response = await stack.ferry.request<ErrorBody>('POST', '/v1/downloads', { url: 'https://example.com/a' }, { authorization: '' });
    expect(response.status).toBe(401);
    expect(response.body.code).toBe('FERRY_ERR_UNAUTHORIZED');
    expect(response.body.message).toMatch(/Authorization: Bearer/);
    expect(response.headers.get('www-authenticate')).toBe('Bearer realm="Ferry API"');
    expect(await stack.ferry.queue.count()).toBe(0);
  });

  it('answers 401 to a wrong key, to a Basic header and on reads too', async () => {
    for (const authorization of ['Bearer fry_not-a-key', 'Basic YWRtaW46eA==', 'Bearer']) {
      const response = await stack.ferry.request<ErrorBody>('GET', '/v1/downloads/00000000-0000-0000-0000-000000000000', undefined, { authorization });
      expect(response.status, authorization).toBe(401);
      expect(response.body.code).toBe('FERRY_ERR_UNAUTHORIZED');
    }
  });

  it('lets a key read only its own jobs: another key gets 404, as for a job that does not exist', async () => {
    const id = await stack.ferry.enqueue({ url: 'https://example.com/mine.bin' });
    expect((await stack.ferry.request('GET', `/v1/downloads/${id}`)).status).toBe(200);
    const theirs = await stack.ferry.request<ErrorBody>('GET', `/v1/downloads/${id}`, undefined, bearer(OTHER_API_KEY));
    expect(theirs.status).toBe(404);
    expect(theirs.body.code).toBe('FERRY_ERR_NOT_FOUND');
    const job = await stack.ferry.queue.getJob(id);
    expect((job?.data as { owner: string }).owner).toBe('test');
    await stack.ferry.queue.obliterate({ force: true });
  });

  it('keeps health checks open, for load balancers', async () => {
    expect((await stack.ferry.request('GET', '/healthz', undefined, { authorization: '' })).status).toBe(200);
  });
});

describe('the per-key rate limit', () => {
  it('answers 429 with Retry-After past the limit, for that key only', async () => {
    const statuses: number[] = [];
    let limited: { status: number; headers: Headers; body: ErrorBody } | undefined;
    for (let i = 0; i < 25; i += 1) {
      const response = await stack.ferry.request<ErrorBody>('GET', '/v1/downloads/00000000-0000-0000-0000-000000000000', undefined, bearer(LIMITED_KEY));
      statuses.push(response.status);
      if (response.status === 429) limited ??= response;
    }
    expect(statuses.filter((s) => s === 404)).toHaveLength(20);
    expect(limited?.body.code).toBe('FERRY_ERR_RATE_LIMITED');
    expect(Number(limited?.headers.get('retry-after'))).toBeGreaterThan(0);
    // Counted per key: the test key still gets through.
    expect((await stack.ferry.request('GET', '/v1/downloads/00000000-0000-0000-0000-000000000000')).status).toBe(404);
  });
});

describe('Bull Board against cross-site requests', () => {
  it('refuses a state-changing request from another origin even with valid credentials', async () => {
    const response = await stack.ferry.request<ErrorBody>('PUT', '/admin/queues/api/queues/downloads/clean/completed', undefined, {
      ...ADMIN,
      origin: 'https://evil.example',
      'sec-fetch-site': 'cross-site',
    });
    expect(response.status).toBe(403);
    expect(response.body.code).toBe('FERRY_ERR_CROSS_SITE');
  });

  it('lets the same request through from its own origin', async () => {
    const origin = stack.ferry.baseUrl;
    const response = await stack.ferry.request('PUT', '/admin/queues/api/queues/downloads/clean/completed', undefined, {
      ...ADMIN,
      origin,
      'sec-fetch-site': 'same-origin',
    });
    expect(response.status).toBe(200);
  });
});

describe('Bull Board in read-only mode', () => {
  it('refuses every state-changing request and still lists the queue', async () => {
    const ferry = await stack.restartFerry({ FERRY_DASHBOARD_READ_ONLY: 'true' });
    const change = await ferry.request<ErrorBody>('PUT', '/admin/queues/api/queues/downloads/clean/completed', undefined, ADMIN);
    expect(change.status).toBe(403);
    expect(change.body.code).toBe('FERRY_ERR_READ_ONLY');
    const list = await ferry.request<{ queues: Array<{ name: string; readOnlyMode: boolean }> }>('GET', '/admin/queues/api/queues', undefined, ADMIN);
    expect(list.status).toBe(200);
    expect(list.body.queues.find((q) => q.name === 'downloads')?.readOnlyMode).toBe(true);
  });
});

describe('failed authentication from one address', () => {
  const WRONG_KEY = bearer('fry_a-guess-that-is-not-a-key');
  const WRONG_PASSWORD = { authorization: `Basic ${Buffer.from('admin:a-guess').toString('base64')}` };
  const read = (headers: Record<string, string>) =>
    stack.ferry.request<ErrorBody>('GET', '/v1/downloads/00000000-0000-0000-0000-000000000000', undefined, headers);

  it('answers 429 with Retry-After to wrong and missing keys once it passes FERRY_AUTH_FAILURE_LIMIT; valid keys and missing credentials count nothing', async () => {
    await stack.restartFerry({ FERRY_AUTH_FAILURE_LIMIT: '3', FERRY_AUTH_FAILURE_WINDOW_MS: '60000' });
    for (let i = 0; i < 10; i += 1) {
      expect((await read({})).status).toBe(404);
      expect((await read({ authorization: '' })).status).toBe(401);
    }
    const statuses = [];
    for (let i = 0; i < 3; i += 1) statuses.push((await read(WRONG_KEY)).status);
    expect(statuses).toEqual([401, 401, 401]);
    const limited = await read(WRONG_KEY);
    expect(limited.status).toBe(429);
    expect(limited.body.code).toBe('FERRY_ERR_RATE_LIMITED');
    expect(limited.body.message).toMatch(/too many failed authentication attempts/);
    const retryAfter = Number(limited.headers.get('retry-after'));
    expect(retryAfter).toBeGreaterThan(0);
    expect(retryAfter).toBeLessThanOrEqual(60);
    expect((await read({ authorization: '' })).status).toBe(429);
  });

  it("lets valid keys through from an address over the limit, so a guesser behind the same proxy or NAT locks no one out, the dashboard's users neither", async () => {
    await stack.restartFerry({ FERRY_AUTH_FAILURE_LIMIT: '3', FERRY_AUTH_FAILURE_WINDOW_MS: '60000' });
    for (let i = 0; i < 5; i += 1) await read(WRONG_KEY);
    expect((await read(WRONG_KEY)).status).toBe(429);
    expect((await read({})).status).toBe(404);
    expect((await read(bearer(OTHER_API_KEY))).status).toBe(404);
    // Wrong API keys are not counted against the dashboard's password.
    expect((await stack.ferry.request('GET', '/admin/queues/api/queues', undefined, ADMIN)).status).toBe(200);
    expect((await stack.ferry.request('GET', '/admin/queues/api/queues', undefined, WRONG_PASSWORD)).status).toBe(401);
  });

  it('counts the addresses of one IPv6 /64 as one address, since whoever has one of them can send from all 2^64', async () => {
    await stack.restartFerry({ FERRY_AUTH_FAILURE_LIMIT: '3', FERRY_AUTH_FAILURE_WINDOW_MS: '60000' });
    // One client's connections from many addresses: a real socket here can only come from loopback.
    const from = async (remoteAddress: string) =>
      (await stack.ferry.app.inject({ method: 'GET', url: '/v1/downloads', headers: WRONG_KEY, remoteAddress })).statusCode;
    const statuses = [];
    for (let i = 1; i <= 5; i += 1) statuses.push(await from(`2001:db8:1:2::${i.toString(16)}`));
    expect(statuses).toEqual([401, 401, 401, 429, 429]);
    expect(await from('2001:db8:1:2:ffff:ffff:ffff:ffff')).toBe(429);
    expect(await from('2001:db8:1:3::1')).toBe(401);
  });

  it('counts wrong dashboard passwords in a limit of their own, which refuses even the right password until the window ends', async () => {
    await stack.restartFerry({ FERRY_AUTH_FAILURE_LIMIT: '2', FERRY_AUTH_FAILURE_WINDOW_MS: '1000' });
    const dashboard = (headers: Record<string, string>) => stack.ferry.request<ErrorBody>('GET', '/admin/queues/api/queues', undefined, headers);
    expect((await dashboard({})).status).toBe(401);
    expect((await dashboard(WRONG_PASSWORD)).status).toBe(401);
    expect((await dashboard(WRONG_PASSWORD)).status).toBe(401);
    const limited = await dashboard(WRONG_PASSWORD);
    expect(limited.status).toBe(429);
    expect(limited.body.code).toBe('FERRY_ERR_RATE_LIMITED');
    expect(Number(limited.headers.get('retry-after'))).toBe(1);
    // A password can be guessed, unlike a key: past the limit a guess must not learn whether it was right.
    expect((await dashboard(ADMIN)).status).toBe(429);
    expect((await read({})).status).toBe(404);
    await new Promise((resolve) => setTimeout(resolve, 1100));
    expect((await dashboard(ADMIN)).status).toBe(200);
  });
});

describe('the client address behind a reverse proxy', () => {
  const guess = (forwardedFor: string) =>
    stack.ferry.request('GET', '/v1/downloads', undefined, { ...bearer('fry_a-guess-that-is-not-a-key'), 'x-forwarded-for': forwardedFor });

  it("is the connection's by default: X-Forwarded-For, which any client can write, is ignored", async () => {
    await stack.restartFerry({ FERRY_AUTH_FAILURE_LIMIT: '2', FERRY_AUTH_FAILURE_WINDOW_MS: '60000' });
    const statuses = [];
    for (const address of ['203.0.113.1', '203.0.113.2', '203.0.113.3']) statuses.push((await guess(address)).status);
    expect(statuses).toEqual([401, 401, 429]);
  });

  it('is taken from X-Forwarded-For when the connection comes from a proxy in FERRY_API_TRUST_PROXY', async () => {
    await stack.restartFerry({ FERRY_AUTH_FAILURE_LIMIT: '2', FERRY_AUTH_FAILURE_WINDOW_MS: '60000', FERRY_API_TRUST_PROXY: '127.0.0.1' });
    const statuses = [];
    for (let i = 0; i < 3; i += 1) statuses.push((await guess('203.0.113.1')).status);
    expect(statuses).toEqual([401, 401, 429]);
    // Another client behind the same proxy has its own count; an address the client wrote before the proxy's is not trusted.
    expect((await guess('203.0.113.2')).status).toBe(401);
    expect((await guess('203.0.113.1, 203.0.113.3')).status).toBe(401);
    expect((await guess('203.0.113.3')).status).toBe(401);
    expect((await guess('203.0.113.1, 203.0.113.3')).status).toBe(429);
  });

  it('is the entry the last proxy wrote when FERRY_API_TRUST_PROXY is a hop count', async () => {
    await stack.restartFerry({ FERRY_AUTH_FAILURE_LIMIT: '2', FERRY_AUTH_FAILURE_WINDOW_MS: '60000', FERRY_API_TRUST_PROXY: '1' });
    expect((await guess('203.0.113.1, 203.0.113.9')).status).toBe(401);
    expect((await guess('203.0.113.2, 203.0.113.9')).status).toBe(401);
    expect((await guess('203.0.113.9')).status).toBe(429);
    expect((await guess('203.0.113.1')).status).toBe(401);
  });
});
