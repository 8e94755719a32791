import { setTimeout as sleep } from 'node:timers/promises';
import type { BatchAccepted, DownloadEvent } from '@ferry/contract';
import { Redis } from 'ioredis';
import { describe, expect, it } from 'vitest';
import { API_KEY, bearer, OTHER_API_KEY } from '../support/ferry.js';
import { serveFile, status } from '../support/origin.js';
import { openSse, type SseEvent } from '../support/sse.js';
import { useStack } from '../support/stack.js';
import { receivedAtLeast, until } from '../support/wait.js';

const stack = useStack({ workers: 1 });

async function collect(events: AsyncGenerator<SseEvent>): Promise<SseEvent[]> {
  const seen: SseEvent[] = [];
  for await (const event of events) seen.push(event);
  return seen;
}

const progressOf = (events: SseEvent[]) => events.filter((e) => e.event === 'progress').map((e) => e.data as Extract<DownloadEvent, { type: 'progress' }>);

describe('GET /v1/downloads/{id}/events', () => {
  it('delivers monotonic progress and a final event through an API process other than the one that enqueued', async () => {
    const other = await stack.ferry.startApi();
    const file = await stack.origin.randomFile('sse-slow.bin', 1536 * 1024);
    const id = await stack.ferry.enqueue({ url: stack.origin.route('/sse/slow.bin', serveFile(file, { bytesPerSecond: 768 * 1024 })) });

    const sse = await openSse(`${other.baseUrl}/v1/downloads/${id}/events`, bearer(API_KEY));
    expect(sse.status).toBe(200);
    expect(sse.contentType).toBe('text/event-stream; charset=utf-8');
    const events = await collect(sse.events());

    expect(events[0]).toMatchObject({ event: 'state', data: { type: 'state', id } });
    for (const event of events) expect((event.data as DownloadEvent).type).toBe(event.event);
    const progress = progressOf(events);
    expect(progress.length).toBeGreaterThanOrEqual(3);
    for (let i = 1; i < progress.length; i += 1) expect(progress[i]!.receivedBytes).toBeGreaterThanOrEqual(progress[i - 1]!.receivedBytes);
    expect(progress.every((p) => p.totalBytes === file.size)).toBe(true);
    expect(progress[0]!.bytesPerSecond).toBeNull();
    const measured = progress.filter((p) => p.bytesPerSecond !== null);
    expect(measured.length).toBeGreaterThan(0);
    expect(measured.every((p) => p.bytesPerSecond! > 0 && p.etaSeconds !== null && p.etaSeconds >= 0)).toBe(true);
    const last = events.at(-1)!;
    expect(last.event).toBe('completed');
    expect((last.data as Extract<DownloadEvent, { type: 'completed' }>).result.sha256).toBe(file.sha256);
  }, 30_000);

  it('answers a download that already ended with its state and its final event, then closes', async () => {
    const file = await stack.origin.randomFile('sse-done.bin', 1000);
    const id = await stack.ferry.enqueue({ url: stack.origin.route('/sse/done.bin', serveFile(file)) });
    await stack.ferry.waitFor(id);
    const events = await collect((await openSse(`${stack.ferry.baseUrl}/v1/downloads/${id}/events`, bearer(API_KEY))).events());
    expect(events.map((e) => e.event)).toEqual(['state', 'completed']);
    expect(events[0]!.data).toEqual({ type: 'state', id, state: 'completed' });
  });

  it('opens on a paused download with its state and the bytes it kept, without a speed', async () => {
    const file = await stack.origin.randomFile('sse-paused.bin', 1024 * 1024);
    const id = await stack.ferry.enqueue({ url: stack.origin.route('/sse/paused.bin', serveFile(file, { etag: '"sp"', bytesPerSecond: 256 * 1024 })) });
    await receivedAtLeast(stack.ferry, id, 128 * 1024);
    await stack.ferry.request('POST', `/v1/downloads/${id}/pause`);
    const kept = (await stack.ferry.waitFor(id, ['paused'])).progress;

    const sse = await openSse(`${stack.ferry.baseUrl}/v1/downloads/${id}/events`, bearer(API_KEY));
    const events = sse.events();
    // Read with a time limit: a paused download sends nothing after its opening events.
    const next = () => Promise.race([events.next().then((r) => r.value), sleep(2000).then(() => 'nothing within 2 s')]);
    const opening = [await next(), await next()];
    sse.close();

    expect(kept.receivedBytes).toBeGreaterThanOrEqual(128 * 1024);
    expect(opening).toEqual([
      { event: 'state', data: { type: 'state', id, state: 'paused' } },
      { event: 'progress', data: { type: 'progress', id, ...kept, bytesPerSecond: null, etaSeconds: null } },
    ]);
    await stack.ferry.request('DELETE', `/v1/downloads/${id}`);
  });

  it('measures the speed afresh after a pause, not across the time it stood still', async () => {
    const file = await stack.origin.randomFile('sse-resumed.bin', 1024 * 1024);
    const id = await stack.ferry.enqueue({ url: stack.origin.route('/sse/resumed.bin', serveFile(file, { etag: '"sr"', bytesPerSecond: 256 * 1024 })) });
    const sse = await openSse(`${stack.ferry.baseUrl}/v1/downloads/${id}/events`, bearer(API_KEY));
    const events = sse.events();
    const nextWhere = async (wanted: (e: SseEvent) => boolean): Promise<SseEvent> => {
      for (let e = (await events.next()).value; e !== undefined; e = (await events.next()).value) if (wanted(e)) return e;
      throw new Error('the stream ended first');
    };
    await nextWhere((e) => e.event === 'progress' && (e.data as { bytesPerSecond: number | null }).bytesPerSecond !== null);
    await stack.ferry.request('POST', `/v1/downloads/${id}/pause`);
    await nextWhere((e) => e.event === 'state' && (e.data as { state: string }).state === 'paused');
    await sleep(1000);
    await stack.ferry.request('POST', `/v1/downloads/${id}/resume`);

    await nextWhere((e) => e.event === 'state' && (e.data as { state: string }).state === 'active');
    const first = await nextWhere((e) => e.event === 'progress');
    sse.close();

    expect(first.data).toMatchObject({ bytesPerSecond: null, etaSeconds: null });
    await stack.ferry.waitFor(id);
  }, 30_000);

  it('ends with a failed event carrying the code when the download fails for good', async () => {
    const id = await stack.ferry.enqueue({ url: stack.origin.route('/sse/gone.bin', status(404)) });
    const events = await collect((await openSse(`${stack.ferry.baseUrl}/v1/downloads/${id}/events`, bearer(API_KEY))).events());
    expect(events.at(-1)).toMatchObject({ event: 'failed', data: { type: 'failed', id, error: { code: 'FERRY_ERR_ORIGIN_REJECTED', retryable: false } } });
  });

  it('answers 404 as JSON for another key’s download, without opening a stream', async () => {
    const file = await stack.origin.randomFile('sse-theirs.bin', 100);
    const id = await stack.ferry.enqueue({ url: stack.origin.route('/sse/theirs.bin', serveFile(file)) });
    const response = await stack.ferry.request<{ code: string }>('GET', `/v1/downloads/${id}/events`, undefined, bearer(OTHER_API_KEY));
    expect(response.status).toBe(404);
    expect(response.body.code).toBe('FERRY_ERR_NOT_FOUND');
    expect(stack.ferry.app.downloadEvents.watchedJobs).toBe(0);
  });

  it('stops listening when the client goes away', async () => {
    const file = await stack.origin.randomFile('sse-leave.bin', 1024 * 1024);
    const id = await stack.ferry.enqueue({ url: stack.origin.route('/sse/leave.bin', serveFile(file, { bytesPerSecond: 256 * 1024 })) });
    const streams = await Promise.all([1, 2, 3].map(() => openSse(`${stack.ferry.baseUrl}/v1/downloads/${id}/events`, bearer(API_KEY))));
    for (const sse of streams) {
      const first = await sse.events().next();
      expect(first.value?.event).toBe('state');
    }
    expect(stack.ferry.app.downloadEvents.watchedJobs).toBe(1);
    for (const sse of streams) sse.close();
    await until(() => stack.ferry.app.downloadEvents.watchedJobs === 0, 'the streams to unsubscribe');
    await stack.ferry.waitFor(id);
  }, 30_000);

  it('reads the queue’s event stream only while some client listens', async () => {
    const redis = new Redis(stack.redis.url);
    // QueueEvents blocks in XREAD on a connection of its own; nothing else in Ferry reads a stream.
    const readers = async () =>
      String(await redis.client('LIST'))
        .split('\n')
        .filter((line) => / cmd=xread /.test(line)).length;
    try {
      await until(async () => (await readers()) === 0, 'no reader while no stream is open');
      const file = await stack.origin.randomFile('sse-reader.bin', 256 * 1024);
      const id = await stack.ferry.enqueue({ url: stack.origin.route('/sse/reader.bin', serveFile(file, { bytesPerSecond: 256 * 1024 })) });
      const sse = await openSse(`${stack.ferry.baseUrl}/v1/downloads/${id}/events`, bearer(API_KEY));
      const events = await collect(sse.events());
      expect(events.at(-1)?.event).toBe('completed');
      await until(async () => (await readers()) === 0, 'the reader to stop once the stream ended');
    } finally {
      await redis.quit();
    }
  }, 30_000);
});

describe('GET /v1/batches/{id}/events', () => {
  it('relays member events and batch counts, ending with the batch’s final counts', async () => {
    const file = await stack.origin.randomFile('sse-batch.bin', 64 * 1024);
    const downloads = Array.from({ length: 5 }, (_, i) => ({
      url: stack.origin.route(`/sse/batch-${i}.bin`, serveFile(file, { bytesPerSecond: 128 * 1024 })),
    }));
    downloads.push({ url: stack.origin.route('/sse/batch-missing.bin', status(404)) });
    const accepted = (await stack.ferry.request<BatchAccepted>('POST', '/v1/batches', { downloads })).body;

    const events = await collect((await openSse(`${stack.ferry.baseUrl}/v1/batches/${accepted.id}/events`, bearer(API_KEY))).events());
    // First each member as it is, then the counts.
    const opening = events.slice(
      0,
      events.findIndex((e) => e.event === 'batch'),
    );
    expect(
      opening
        .filter((e) => e.event === 'state')
        .map((e) => (e.data as { id: string }).id)
        .sort(),
    ).toEqual([...accepted.downloads].sort());
    expect(events[opening.length]).toMatchObject({ event: 'batch', data: { type: 'batch', id: accepted.id } });
    const completed = events.filter((e) => e.event === 'completed').map((e) => (e.data as { id: string }).id);
    expect(new Set(completed)).toEqual(new Set(accepted.downloads.slice(0, 5)));
    expect(events.filter((e) => e.event === 'failed').map((e) => (e.data as { id: string }).id)).toEqual([accepted.downloads[5]]);
    expect(events.at(-1)).toMatchObject({
      event: 'batch',
      data: { state: 'completed_with_failures', counts: { completed: 5, failed: 1, queued: 0, active: 0 } },
    });
    await until(() => stack.ferry.app.downloadEvents.watchedJobs === 0, 'the batch stream to unsubscribe');
  }, 30_000);

  it('opens with the members that ended before it, with their results and errors, then the final counts', async () => {
    const file = await stack.origin.randomFile('sse-batch-early.bin', 1000);
    const downloads = [
      { url: stack.origin.route('/sse/batch-early.bin', serveFile(file)) },
      { url: stack.origin.route('/sse/batch-early-missing.bin', status(404)) },
    ];
    const accepted = (await stack.ferry.request<BatchAccepted>('POST', '/v1/batches', { downloads })).body;
    const [good, missing] = accepted.downloads as [string, string];
    await stack.ferry.waitFor(good);
    await stack.ferry.waitFor(missing, ['failed']);

    const events = await collect((await openSse(`${stack.ferry.baseUrl}/v1/batches/${accepted.id}/events`, bearer(API_KEY))).events());

    expect(events.map((e) => e.event)).toEqual(['state', 'completed', 'state', 'failed', 'batch']);
    expect(events[1]!.data).toMatchObject({ type: 'completed', id: good, result: { sha256: file.sha256 } });
    expect(events[3]!.data).toMatchObject({ type: 'failed', id: missing, error: { code: 'FERRY_ERR_ORIGIN_REJECTED' } });
    expect(events[4]!.data).toMatchObject({ state: 'completed_with_failures', counts: { completed: 1, failed: 1 } });
  });
});

describe('when an API process with open streams shuts down', () => {
  it('ends the streams and exits cleanly', async () => {
    const other = await stack.ferry.startApi();
    const file = await stack.origin.randomFile('sse-shutdown.bin', 1024 * 1024);
    const id = await stack.ferry.enqueue({ url: stack.origin.route('/sse/shutdown.bin', serveFile(file, { bytesPerSecond: 128 * 1024 })) });
    const sse = await openSse(`${other.baseUrl}/v1/downloads/${id}/events`, bearer(API_KEY));
    const events = sse.events();
    expect((await events.next()).value?.event).toBe('state');
    other.child.kill('SIGTERM');
    const rest = await collect(events);
    expect(rest.some((e) => e.event === 'completed')).toBe(false);
    expect(await other.exited).toBe(0);
  }, 30_000);
});
