import { Redis } from 'ioredis';
import { describe, expect, it } from 'vitest';
import { serveFile, status } from '../support/origin.js';
import { useStack } from '../support/stack.js';
import { until } from '../support/wait.js';

const stack = useStack({ workers: 1, env: { FERRY_QUEUE_PREFIX: 'acme', FERRY_JANITOR_INTERVAL_MS: '1000' } });

describe('the Redis keys Ferry writes', () => {
  it('all start with FERRY_QUEUE_PREFIX once, never twice or with a second "ferry:"', async () => {
    const { ferry, origin } = stack;
    const file = await origin.randomFile('keys.bin', 1024);
    await ferry.waitFor(await ferry.enqueue({ url: origin.route('/keys.bin', serveFile(file)) }));
    const batch = await ferry.request<{ id: string }>('POST', '/v1/batches', { downloads: [{ url: origin.route('/keys-batch.bin', serveFile(file)) }] });
    expect(batch.status).toBe(202);
    const cancelled = await ferry.enqueue({ url: origin.route('/keys-later.bin', status(404)), delayMs: 60_000 });
    expect((await ferry.request('DELETE', `/v1/downloads/${cancelled}`)).status).toBe(200);
    expect((await ferry.request('POST', '/v1/downloads', { url: origin.route('/keys-idem.bin', serveFile(file)) }, { 'idempotency-key': 'k' })).status).toBe(
      202,
    );

    const redis = new Redis(stack.redis.url);
    try {
      await until(async () => (await redis.keys('*index-prune-turn')).length > 0, 'the worker to take its first pruning turn', 10_000);
      const keys = await redis.keys('*');
      const ferryOwn = keys.filter((key) => !/^acme:(downloads|callbacks):/.test(key)).sort();
      expect(keys.filter((key) => !key.startsWith('acme:'))).toEqual([]);
      expect(ferryOwn.filter((key) => key.startsWith('acme:ferry:') || key.startsWith('acme:acme:'))).toEqual([]);
      expect(ferryOwn).toEqual(
        expect.arrayContaining([
          'acme:owner:test',
          `acme:batch:${batch.body.id}`,
          `acme:batch:${batch.body.id}:members`,
          'acme:index-prune-turn',
          expect.stringMatching(/^acme:idempotency:[0-9a-f]{64}$/),
        ]),
      );
      expect(await redis.pubsub('CHANNELS', 'acme:*')).toContain('acme:control');
    } finally {
      redis.disconnect();
    }
  });
});
