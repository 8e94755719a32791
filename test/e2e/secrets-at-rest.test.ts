import { createHash } from 'node:crypto';
import { Redis } from 'ioredis';
import { describe, expect, it } from 'vitest';
import { DownloadRequest } from '@ferry/contract';
import { API_KEY, bearer, HEADERS_KEY } from '../support/ferry.js';
import type { Handler } from '../support/origin.js';
import { receiver } from '../support/receiver.js';
import { useStack } from '../support/stack.js';
import { until } from '../support/wait.js';

const stack = useStack({ workers: 0 });
const SECRET_TOKEN = 'Bearer at-rest-secret-token-7f3a';
const SECRET_KEY = 'at-rest-secret-api-key-91c2';
const credentials = { Authorization: SECRET_TOKEN, 'X-Api-Key': SECRET_KEY };
const ok: Handler = (_req, res) => {
  res.writeHead(200, { 'content-type': 'text/plain' }).end('fine');
};
const anotherKey = (id: string) => `${id}:${Buffer.alloc(32, 9).toString('base64')}`;

/** The request as JSON with its keys sorted at every level: what anyone can hash to test a guess of its headers. */
function sortedJson(value: unknown): string {
  if (value === null || typeof value !== 'object') return JSON.stringify(value);
  if (Array.isArray(value)) return `[${value.map(sortedJson).join(',')}]`;
  const entries = Object.entries(value)
    .filter(([, v]) => v !== undefined)
    .sort(([a], [b]) => (a < b ? -1 : 1));
  return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${sortedJson(v)}`).join(',')}}`;
}

/** Every value Redis holds, whatever the key's type, as one text to search. */
async function everythingInRedis(): Promise<string> {
  const redis = new Redis(stack.redis.url);
  try {
    const texts: string[] = [];
    for (const key of await redis.keys('*')) {
      const type = await redis.type(key);
      if (type === 'string') texts.push((await redis.get(key)) ?? '');
      else if (type === 'hash') texts.push(JSON.stringify(await redis.hgetall(key)));
      else if (type === 'list') texts.push(...(await redis.lrange(key, 0, -1)));
      else if (type === 'set') texts.push(...(await redis.smembers(key)));
      else if (type === 'zset') texts.push(...(await redis.zrange(key, 0, -1)));
      else if (type === 'stream') texts.push(JSON.stringify(await redis.xrange(key, '-', '+')));
    }
    return texts.join('\n');
  } finally {
    redis.disconnect();
  }
}

describe('when a request carries headers', () => {
  it('keeps them encrypted in Redis while the job waits and after it ended, and sends them in the clear to the origin', async () => {
    const waiting = await stack.ferry.enqueue({ url: stack.origin.route('/at-rest/later', ok), headers: credentials, delayMs: 3_600_000 });
    const batch = await stack.ferry.request('POST', '/v1/batches', {
      downloads: [{ url: stack.origin.route('/at-rest/batch', ok), headers: credentials, delayMs: 3_600_000 }],
    });
    expect(batch.status).toBe(202);
    await stack.ferry.startWorker();
    const done = await stack.ferry.waitFor(await stack.ferry.enqueue({ url: stack.origin.route('/at-rest/now', ok), headers: credentials }));
    expect(done.state).toBe('completed');
    expect(stack.origin.requests('/at-rest/now')[0]?.headers).toMatchObject({ authorization: SECRET_TOKEN, 'x-api-key': SECRET_KEY });
    expect((await stack.ferry.status(waiting)).state).toBe('delayed');

    const stored = await everythingInRedis();
    expect(stored).toContain('/at-rest/later');
    expect(stored).not.toContain('at-rest-secret');
  });

  it('keeps no unkeyed hash of them for an Idempotency-Key, against which a guess of a header could be checked', async () => {
    const url = stack.origin.route('/at-rest/idempotent', ok);
    const body = { url, headers: credentials, delayMs: 3_600_000 };
    const first = await stack.ferry.request('POST', '/v1/downloads', body, { ...bearer(API_KEY), 'idempotency-key': 'at-rest-guess' });
    expect(first.status).toBe(202);
    // A guess of the token, right or wrong, is checked by hashing the request as the API parsed it.
    const guess = (token: string) =>
      createHash('sha256')
        .update(sortedJson(DownloadRequest.parse({ ...body, headers: { ...credentials, Authorization: token } })))
        .digest('hex');
    const stored = await everythingInRedis();
    expect(stored).toContain('"fingerprint"');
    expect(stored).not.toContain(guess(SECRET_TOKEN));
  });

  it('answers a retry after a key rotation as the same request, and a retry with another header value as a conflict', async () => {
    const body = { url: stack.origin.route('/at-rest/rotating', ok), headers: credentials, delayMs: 3_600_000 };
    const headers = { ...bearer(API_KEY), 'idempotency-key': 'at-rest-rotation' };
    const first = await stack.ferry.request<{ id: string }>('POST', '/v1/downloads', body, headers);
    expect(first.status).toBe(202);
    const rotated = await stack.restartFerry({ FERRY_HEADERS_ENCRYPTION_KEYS: `${anotherKey('next')},${HEADERS_KEY}` });
    const again = await rotated.request<{ id: string }>('POST', '/v1/downloads', body, headers);
    expect(again.status).toBe(200);
    expect(again.body.id).toBe(first.body.id);
    const changed = await rotated.request<{ code: string }>(
      'POST',
      '/v1/downloads',
      { ...body, headers: { ...credentials, Authorization: 'Bearer another' } },
      headers,
    );
    expect(changed.status).toBe(409);
    expect(changed.body.code).toBe('FERRY_ERR_IDEMPOTENCY_CONFLICT');
  });

  it('opens headers sealed with an older key once the new key is put first (rotation)', async () => {
    const id = await stack.ferry.enqueue({ url: stack.origin.route('/at-rest/rotated', ok), headers: credentials });
    await stack.ferry.startWorker({ FERRY_HEADERS_ENCRYPTION_KEYS: `${anotherKey('next')},${HEADERS_KEY}` });
    expect((await stack.ferry.waitFor(id)).state).toBe('completed');
    expect(stack.origin.requests('/at-rest/rotated').at(-1)?.headers.authorization).toBe(SECRET_TOKEN);
  });

  it('fails with FERRY_ERR_SEALED_HEADERS on a worker without the key, sending nothing to the origin', async () => {
    const wrongFleet = await stack.restartFerry({ FERRY_JOB_ATTEMPTS: '2' });
    await wrongFleet.startWorker({ FERRY_HEADERS_ENCRYPTION_KEYS: anotherKey('stranger') });
    const final = await wrongFleet.waitFor(await wrongFleet.enqueue({ url: stack.origin.route('/at-rest/wrong-key', ok), headers: credentials }));
    expect(final).toMatchObject({ state: 'failed', error: { code: 'FERRY_ERR_SEALED_HEADERS' } });
    expect(final.error?.message).toMatch(/FERRY_HEADERS_ENCRYPTION_KEYS/);
    expect(stack.origin.requests('/at-rest/wrong-key')).toHaveLength(0);
  });

  it('is refused with 400 naming FERRY_HEADERS_ENCRYPTION_KEYS when the server has no key', async () => {
    const keyless = await stack.restartFerry({ FERRY_HEADERS_ENCRYPTION_KEYS: '' });
    const refused = await keyless.request<{ code: string; issues: { path: string; message: string }[] }>(
      'POST',
      '/v1/downloads',
      { url: stack.origin.route('/at-rest/keyless', ok), headers: credentials },
      bearer(API_KEY),
    );
    expect(refused.status).toBe(400);
    expect(refused.body.code).toBe('FERRY_ERR_VALIDATION');
    expect(refused.body.issues).toEqual([{ path: 'headers', message: expect.stringMatching(/FERRY_HEADERS_ENCRYPTION_KEYS/) }]);
    // Without headers the same server takes the download.
    expect((await keyless.request('POST', '/v1/downloads', { url: stack.origin.route('/at-rest/keyless', ok) })).status).toBe(202);
  });
});

describe('when URLs carry credentials in their query', () => {
  it('keeps the query values of download and callback URLs out of the API and worker logs', async () => {
    const loud = { FERRY_LOG_LEVEL: 'info', FERRY_JOB_ATTEMPTS: '2' };
    const api = await stack.ferry.startApi(loud);
    const worker = await stack.ferry.startWorker(loud);
    const hook = receiver(stack.origin, '/at-rest/hook', 500);
    const failing: Handler = (_req, res) => {
      res.writeHead(500).end();
    };
    const body = {
      url: `${stack.origin.route('/at-rest/presigned.bin', failing)}?X-Amz-Signature=presigned-secret-31d7`,
      callbackUrl: `${hook.url}?token=callback-secret-8e21`,
    };
    const posted = await fetch(`${api.baseUrl}/v1/downloads`, {
      method: 'POST',
      headers: { ...bearer(API_KEY), 'content-type': 'application/json' },
      body: JSON.stringify(body),
    });
    expect(posted.status).toBe(202);
    const { id } = (await posted.json()) as { id: string };
    expect((await stack.ferry.waitFor(id, ['failed'])).state).toBe('failed');
    await until(() => hook.deliveries.length >= 2 && worker.logs().includes('callback delivery failed'), 'a failed callback delivery');

    const logs = `${api.logs()}\n${worker.logs()}`;
    for (const own of [api.logs(), worker.logs()]) expect(own).toContain('/at-rest/presigned.bin?X-Amz-Signature=[redacted]');
    expect(logs).not.toContain('presigned-secret');
    expect(logs).not.toContain('callback-secret');
  });
});
