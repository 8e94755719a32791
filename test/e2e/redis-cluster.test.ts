import type { BatchAccepted, BatchStatus, DownloadAccepted, DownloadList } from '@ferry/contract';
import { createProducerRedis, loadConfig, scanKeys, verifyWebhook } from '@ferry/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { API_KEY, bearer, DASHBOARD_PASSWORD, Ferry, keyWebhookSecret } from '../support/ferry.js';
import { pathOf, sha256File } from '../support/files.js';
import { serveFile, status, TestOrigin } from '../support/origin.js';
import { asHeaders, receiver } from '../support/receiver.js';
import { redisCli, startTestRedisCluster, type TestRedisCluster } from '../support/redis-cluster.js';
import { openSse, type SseEvent } from '../support/sse.js';
import { receivedAtLeast, until } from '../support/wait.js';

const MiB = 1024 * 1024;

let cluster: TestRedisCluster;
let origin: TestOrigin;
let ferry: Ferry;

beforeAll(async () => {
  cluster = await startTestRedisCluster(3);
  origin = await TestOrigin.start();
  // No FERRY_QUEUE_PREFIX: on a cluster it defaults to {ferry}.
  ferry = await Ferry.start(undefined, { FERRY_REDIS_CLUSTER_NODES: cluster.nodesEnv, FERRY_JANITOR_INTERVAL_MS: '1000', FERRY_WORKER_CONCURRENCY: '4' });
  await ferry.startWorker();
  await ferry.startWorker();
}, 60_000);

afterAll(async () => {
  await ferry?.close();
  await origin?.close();
  await cluster?.stop();
});

/** Every key on the node listening on `port`, read with SCAN. */
async function keysOn(port: number): Promise<string[]> {
  const keys: string[] = [];
  let cursor = '0';
  do {
    const [next, ...page] = (await redisCli(port, 'SCAN', cursor, 'COUNT', '1000')).split('\n');
    cursor = next!;
    keys.push(...page.filter((key) => key !== ''));
  } while (cursor !== '0');
  return keys;
}

describe('on a Redis Cluster of three masters', () => {
  it('runs downloads, a batch, idempotent requests, callbacks, pause with live events, cancel, the dashboard and listing end to end through the API and two workers', async () => {
    const files = await Promise.all(Array.from({ length: 8 }, (_, i) => origin.randomFile(`c-${i}.bin`, 256 * 1024 + i)));
    const ids = await Promise.all(files.map((file, i) => ferry.enqueue({ url: origin.route(`/c-${i}.bin`, serveFile(file)) })));

    const hook = receiver(origin, '/cluster-hook');
    const called = await ferry.enqueue({ url: origin.route('/c-called.bin', serveFile(files[0]!)), callbackUrl: hook.url });

    const batch = await ferry.request<BatchAccepted>('POST', '/v1/batches', {
      downloads: [{ url: origin.route('/cb-0.bin', serveFile(files[1]!)) }, { url: origin.route('/cb-1.bin', status(404)) }],
    });
    expect(batch.status).toBe(202);

    const idempotent = { url: origin.route('/c-idem.bin', serveFile(files[2]!)) };
    const first = await ferry.request<DownloadAccepted>('POST', '/v1/downloads', idempotent, { 'idempotency-key': 'cluster' });
    const again = await ferry.request<DownloadAccepted>('POST', '/v1/downloads', idempotent, { 'idempotency-key': 'cluster' });
    expect([first.status, again.status]).toEqual([202, 200]);
    expect(again.body.id).toBe(first.body.id);

    const later = await ferry.enqueue({ url: origin.route('/c-later.bin', serveFile(files[3]!)), delayMs: 60_000 });
    expect((await ferry.request('DELETE', `/v1/downloads/${later}`)).status).toBe(200);

    // Pause reaches the worker over pub/sub, then resume picks the download up again.
    const big = await origin.randomFile('c-big.bin', 8 * MiB);
    const paused = await ferry.enqueue({ url: origin.route('/c-big.bin', serveFile(big, { bytesPerSecond: 4 * MiB, etag: '"c"' })) });
    // Its live events come through the API's one stream reader, on the cluster too.
    const sse = await openSse(`${ferry.baseUrl}/v1/downloads/${paused}/events`, bearer(API_KEY));
    const streamed = (async () => {
      const events: SseEvent[] = [];
      for await (const event of sse.events()) events.push(event);
      return events;
    })();
    await receivedAtLeast(ferry, paused, MiB);
    expect((await ferry.request<DownloadAccepted>('POST', `/v1/downloads/${paused}/pause`)).body.state).toBe('paused');
    expect((await ferry.request<DownloadAccepted>('POST', `/v1/downloads/${paused}/resume`)).status).toBe(202);

    for (const [i, id] of ids.entries()) {
      const done = await ferry.waitFor(id);
      expect(done.state).toBe('completed');
      expect(await sha256File(pathOf(done.result!.location))).toBe(files[i]!.sha256);
    }
    expect((await ferry.waitFor(first.body.id)).state).toBe('completed');
    const resumed = await ferry.waitFor(paused);
    expect(resumed.state).toBe('completed');
    expect(await sha256File(pathOf(resumed.result!.location))).toBe(big.sha256);
    const events = await streamed;
    expect(new Set(events.map((event) => event.event)), JSON.stringify(events)).toEqual(new Set(['progress', 'state', 'completed']));
    expect(events.at(-1)).toMatchObject({ event: 'completed', data: { result: { sha256: big.sha256 } } });
    expect((await ferry.status(later)).state).toBe('cancelled');

    await until(async () => (await ferry.request<BatchStatus>('GET', `/v1/batches/${batch.body.id}`)).body.finishedAt !== null, 'the batch to end');
    const summary = (await ferry.request<BatchStatus>('GET', `/v1/batches/${batch.body.id}`)).body;
    expect(summary.counts).toMatchObject({ completed: 1, failed: 1 });

    expect((await ferry.waitFor(called)).state).toBe('completed');
    await until(() => hook.deliveries.length > 0, 'the callback');
    const [delivery] = hook.deliveries;
    const event = verifyWebhook(keyWebhookSecret('test'), asHeaders(delivery!.headers), delivery!.body) as { type: string; data: { id: string } };
    expect(event).toMatchObject({ type: 'download.completed', data: { id: called } });

    // Bull Board reads both queues' counts and jobs through the same connection.
    const admin = { authorization: `Basic ${Buffer.from(`admin:${DASHBOARD_PASSWORD}`).toString('base64')}` };
    const board = await ferry.request<{ queues: Array<{ name: string; counts: Record<string, number> }> }>(
      'GET',
      '/admin/queues/api/queues?activeQueue=downloads&status=completed&page=1',
      undefined,
      admin,
    );
    expect(board.status).toBe(200);
    expect(board.body.queues.find((queue) => queue.name === 'downloads')?.counts.completed).toBeGreaterThanOrEqual(ids.length);

    const listed = await ferry.request<DownloadList>('GET', '/v1/downloads?limit=100');
    expect(listed.status).toBe(200);
    const listedIds = listed.body.items.map((item) => item.id);
    const labelled = {
      ...Object.fromEntries(ids.map((id, i) => [id, `c-${i}`])),
      [called]: 'called',
      [first.body.id]: 'idempotent',
      [later]: 'cancelled',
      [paused]: 'paused',
    };
    expect(Object.entries(labelled).filter(([id]) => !listedIds.includes(id))).toEqual([]);
  }, 120_000);

  it('keeps every key Ferry and BullMQ wrote in the one slot of {ferry}, on one master', async () => {
    // The worker's index pruner has run too: it SCANs every master.
    await until(
      async () => (await Promise.all(cluster.nodes.map((node) => keysOn(node.port)))).flat().includes('{ferry}:index-prune-turn'),
      'a pruning turn',
      10_000,
    );
    const slot = Number(await redisCli(cluster.nodes[0]!.port, 'CLUSTER', 'KEYSLOT', '{ferry}'));
    const perNode = await Promise.all(cluster.nodes.map((node) => keysOn(node.port)));
    const holding = perNode.filter((keys) => keys.length > 0);
    expect(holding).toHaveLength(1);
    const keys = holding[0]!;
    expect(keys.length).toBeGreaterThan(20);
    expect(keys.filter((key) => !key.startsWith('{ferry}:'))).toEqual([]);
    const owner = cluster.nodes[perNode.indexOf(keys)]!;
    expect(Number(await redisCli(owner.port, 'CLUSTER', 'COUNTKEYSINSLOT', String(slot)))).toBe(keys.length);
    expect(keys).toEqual(expect.arrayContaining(['{ferry}:owner:test', '{ferry}:downloads:meta', '{ferry}:callbacks:meta']));
  });

  it('finds every key of a pattern with scanKeys, which asks each master: a cluster client alone would SCAN one node of its choosing', async () => {
    const redis = createProducerRedis(loadConfig(ferry.env).redis);
    try {
      // Keys that stay put while the workers run (unlike locks and markers, which come and go).
      const found: string[] = [];
      for await (const keys of scanKeys(redis, '{ferry}:batch:*')) found.push(...keys);
      const perNode = await Promise.all(cluster.nodes.map((node) => keysOn(node.port)));
      const batchKeys = perNode.flat().filter((key) => key.startsWith('{ferry}:batch:'));
      expect(batchKeys.length).toBeGreaterThan(0);
      expect(found.sort()).toEqual(batchKeys.sort());
    } finally {
      redis.disconnect();
    }
  });
});
