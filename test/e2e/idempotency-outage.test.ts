import type { RedisServer } from '@ferry/launcher/redis-server';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Ferry, type ApiResponse } from '../support/ferry.js';
import { serveFile, TestOrigin } from '../support/origin.js';
import { RedisCut } from '../support/redis-cut.js';
import { startTestRedis } from '../support/redis.js';
import { until } from '../support/wait.js';

let redis: RedisServer;
let relay: RedisCut;
let origin: TestOrigin;
let ferry: Ferry;

// The API reaches Redis through the relay, which can cut it off mid-request; the worker reaches Redis directly.
beforeAll(async () => {
  redis = await startTestRedis();
  relay = await RedisCut.start(redis.port);
  origin = await TestOrigin.start();
  // Quiet: the API's event reader logs every failed reconnect while Redis is away.
  ferry = await Ferry.start(relay.url, { FERRY_LOG_LEVEL: 'error' });
  await ferry.startWorker({ REDIS_URL: redis.url });
});

afterAll(async () => {
  await ferry.close();
  await relay.close();
  await origin.close();
  await redis.stop();
});

type Answer = ApiResponse<{ id: string; state: string; code?: string }>;
const post = (body: unknown, key: string): Promise<Answer> => ferry.request('POST', '/v1/downloads', body, { 'idempotency-key': key });

/** Retries the POST as a client would until Redis is reachable again. */
async function retried(body: unknown, key: string): Promise<Answer> {
  let answer: Answer | undefined;
  await until(async () => (answer = await post(body, key)).status !== 503, 'the API to reach Redis again');
  return answer as Answer;
}

describe('when Redis goes away after the idempotency claim and before the enqueue', () => {
  it('lets a retried POST enqueue the download under the id it acknowledges, and the download completes', async () => {
    const file = await origin.randomFile('outage.bin', 256 * 1024);
    const url = origin.route('/outage.bin', serveFile(file));
    // Loads the claim's script, so that the claim below is one command and one reply.
    expect((await post({ url: origin.route('/warm-up.bin', serveFile(file)) }, 'warm-up')).status).toBe(202);

    const cut = relay.cutAfterReplyTo('idempotency');
    const first = await post({ url }, 'outage-1');
    await cut;
    expect(first.status).toBe(503);
    await relay.restore();

    const again = await retried({ url }, 'outage-1');
    expect([200, 202]).toContain(again.status);
    const done = await ferry.waitFor(again.body.id);
    expect(done.state).toBe('completed');
    expect(done.result?.sha256).toBe(file.sha256);
    // Later retries keep answering with the same, real download.
    const later = await post({ url }, 'outage-1');
    expect(later.status).toBe(200);
    expect(later.body).toMatchObject({ id: again.body.id, state: 'completed' });
  });
});
