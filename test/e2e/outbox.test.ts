import { type BatchAccepted, type BatchStatus, type DownloadResult } from '@ferry/contract';
import { DOWNLOAD_QUEUE, DownloadControl, outboxKey, verifyWebhook } from '@ferry/core';
import { Worker } from 'bullmq';
import { Redis } from 'ioredis';
import { describe, expect, it } from 'vitest';
import { keyWebhookSecret } from '../support/ferry.js';
import { serveFile } from '../support/origin.js';
import { asHeaders, receiver } from '../support/receiver.js';
import { useStack } from '../support/stack.js';
import { until } from '../support/wait.js';

// Ferry's workers sweep for unreported ends every 300 ms in these tests.
const stack = useStack({ eachTest: true, env: { FERRY_ENDINGS_SWEEP_INTERVAL_MS: '300' } });

const PREFIX = 'ferry';

describe('when the process that ended a download dies before reporting it', () => {
  it('a worker reports it: the callback is sent and the batch is counted and ends', async () => {
    const { ferry } = stack;
    const hook = receiver(stack.origin, '/hooks/download', 200);
    const batchHook = receiver(stack.origin, '/hooks/batch', 200);
    const file = await stack.origin.randomFile('orphan.bin', 1000);
    const url = stack.origin.route('/orphan.bin', serveFile(file));
    const batch = await ferry.request<BatchAccepted>('POST', '/v1/batches', { downloads: [{ url, callbackUrl: hook.url }], callbackUrl: batchHook.url });
    const [id] = batch.body.downloads;

    // A worker that marks the end and has BullMQ record it, then dies before its own reporting runs:
    // as Ferry's processor does up to that point, and nothing after.
    const redis = new Redis(stack.redis.url);
    const result: DownloadResult = {
      location: 'file:///nowhere/orphan.bin',
      filename: 'orphan.bin',
      bytes: file.size,
      sha256: file.sha256,
      digest: null,
      contentType: null,
      etag: null,
      lastModified: null,
    };
    const dying = new Worker(
      DOWNLOAD_QUEUE,
      async (job) => {
        await redis.zadd(outboxKey(PREFIX), Date.now(), job.id!);
        return result;
      },
      { connection: { url: stack.redis.url }, prefix: PREFIX },
    );
    await until(async () => (await ferry.status(id!)).state === 'completed', 'the orphaned completion');
    await dying.close();
    expect(hook.deliveries).toHaveLength(0);
    expect(await redis.zscore(outboxKey(PREFIX), id!)).not.toBeNull();

    await ferry.startWorker();
    await until(() => hook.deliveries.length === 1 && batchHook.deliveries.length === 1, 'both callbacks');
    const event = verifyWebhook(keyWebhookSecret('test'), asHeaders(hook.deliveries[0]!.headers), hook.deliveries[0]!.body) as {
      type: string;
      data: { id: string };
    };
    expect(event).toMatchObject({ type: 'download.completed', data: { id } });
    const batchEvent = verifyWebhook(keyWebhookSecret('test'), asHeaders(batchHook.deliveries[0]!.headers), batchHook.deliveries[0]!.body) as { type: string };
    expect(batchEvent.type).toBe('batch.completed');
    const status = await ferry.request<BatchStatus>('GET', `/v1/batches/${batch.body.id}`);
    expect(status.body).toMatchObject({ state: 'completed', counts: { completed: 1 } });
    expect(await redis.zscore(outboxKey(PREFIX), id!)).toBeNull();
    // Reported once, not on every sweep.
    await new Promise((resolve) => setTimeout(resolve, 1000));
    expect(hook.deliveries).toHaveLength(1);
    expect(batchHook.deliveries).toHaveLength(1);
    redis.disconnect();
  });

  it('a worker reports a cancel whose API died right after cancelling', async () => {
    const { ferry } = stack;
    const hook = receiver(stack.origin, '/hooks/cancelled', 200);
    const file = await stack.origin.randomFile('never.bin', 1000);
    const id = await ferry.enqueue({ url: stack.origin.route('/never.bin', serveFile(file)), callbackUrl: hook.url });

    // What DELETE /v1/downloads/:id does before it reports the end itself.
    const redis = new Redis(stack.redis.url);
    expect(await new DownloadControl(ferry.queue, redis, PREFIX).request(id, 'cancel')).toBe('cancelled');
    await ferry.startWorker();

    await until(() => hook.deliveries.length === 1, 'the cancel callback');
    const event = verifyWebhook(keyWebhookSecret('test'), asHeaders(hook.deliveries[0]!.headers), hook.deliveries[0]!.body) as {
      type: string;
      data: { state: string };
    };
    expect(event).toMatchObject({ type: 'download.cancelled', data: { state: 'cancelled' } });
    redis.disconnect();
  });
});
