import { describe, expect, it } from 'vitest';
import { FerryClient } from '@ferry/client';
import { rejection } from '../support/client-errors.js';
import { API_KEY } from '../support/ferry.js';
import { serveFile, status } from '../support/origin.js';
import { useStack } from '../support/stack.js';

const KiB = 1024;
const stack = useStack({ workers: 1 });
const client = () => new FerryClient({ baseUrl: stack.ferry.baseUrl, apiKey: API_KEY });

/** The global fetch, recording each request's method and path. */
function recordingFetch(seen: string[], transform: (url: string, response: Response) => Response = (_url, response) => response): typeof fetch {
  return async (input, init) => {
    const url = new URL(input instanceof Request ? input.url : input);
    seen.push(`${init?.method ?? 'GET'} ${url.pathname}`);
    return transform(url.pathname, await fetch(input, init));
  };
}

describe('the event stream', () => {
  it('events() yields a state snapshot, progress with speed, and ends after completed with the result', async () => {
    const file = await stack.origin.randomFile('client-events.bin', 512 * KiB);
    const url = stack.origin.route('/client/events.bin', serveFile(file, { bytesPerSecond: 256 * KiB }));
    const { id } = await client().enqueue({ url });

    const events = [];
    for await (const event of client().events(id)) events.push(event);

    expect(events[0]).toMatchObject({ type: 'state', id });
    const progress = events.filter((e) => e.type === 'progress');
    expect(progress.length).toBeGreaterThanOrEqual(2);
    expect(progress.some((e) => e.bytesPerSecond !== null && e.bytesPerSecond > 0)).toBe(true);
    expect(events.at(-1)).toMatchObject({ type: 'completed', id, result: { sha256: file.sha256, bytes: file.size } });
  });

  it('wait follows it instead of polling the status', async () => {
    const file = await stack.origin.randomFile('client-follow.bin', 256 * KiB);
    const url = stack.origin.route('/client/follow.bin', serveFile(file, { bytesPerSecond: 256 * KiB }));
    const seen: string[] = [];
    const recording = new FerryClient({ baseUrl: stack.ferry.baseUrl, apiKey: API_KEY, fetch: recordingFetch(seen), pollIntervalMs: 100 });
    const { id } = await recording.enqueue({ url });

    expect((await recording.wait(id)).sha256).toBe(file.sha256);
    expect(seen).toEqual(['POST /v1/downloads', `GET /v1/downloads/${id}/events`]);
  });

  it('wait reopens a stream that broke off, and resolves with the result', async () => {
    const file = await stack.origin.randomFile('client-reopen.bin', 512 * KiB);
    const url = stack.origin.route('/client/reopen.bin', serveFile(file, { bytesPerSecond: 256 * KiB }));
    const seen: string[] = [];
    let cut = 0;
    // The first stream is cut after its first chunk, as a dropped connection would cut it.
    const cutFirstStream = (pathname: string, response: Response): Response => {
      if (!pathname.endsWith('/events') || (cut += 1) > 1) return response;
      const reader = response.body!.getReader();
      const body = new ReadableStream<Uint8Array>({
        async pull(controller) {
          const chunk = await reader.read();
          if (!chunk.done) controller.enqueue(chunk.value);
          await reader.cancel();
          controller.error(new TypeError('terminated'));
        },
      });
      return new Response(body, { status: response.status, headers: response.headers });
    };
    const flaky = new FerryClient({ baseUrl: stack.ferry.baseUrl, apiKey: API_KEY, fetch: recordingFetch(seen, cutFirstStream) });
    const { id } = await flaky.enqueue({ url });

    expect((await flaky.wait(id)).sha256).toBe(file.sha256);
    expect(seen.filter((request) => request === `GET /v1/downloads/${id}/events`)).toHaveLength(2);
  });
});

describe('batches', () => {
  it('enqueueBatch enqueues all; batchEvents follows every member and ends with the batch state; getBatch counts them', async () => {
    const file = await stack.origin.randomFile('client-member.bin', 64 * KiB);
    const good = stack.origin.route('/client/member.bin', serveFile(file));
    const missing = stack.origin.route('/client/member-missing.bin', status(404));

    const accepted = await client().enqueueBatch({ downloads: [{ url: good }, { url: missing }] });
    const events = [];
    for await (const event of client().batchEvents(accepted.id)) events.push(event);

    expect(accepted).toMatchObject({ size: 2, downloads: [expect.any(String), expect.any(String)] });
    const [goodId, missingId] = accepted.downloads;
    expect(events).toContainEqual(expect.objectContaining({ type: 'completed', id: goodId, result: expect.objectContaining({ sha256: file.sha256 }) }));
    expect(events).toContainEqual(
      expect.objectContaining({ type: 'failed', id: missingId, error: expect.objectContaining({ code: 'FERRY_ERR_ORIGIN_REJECTED' }) }),
    );
    expect(events.at(-1)).toMatchObject({ type: 'batch', id: accepted.id, state: 'completed_with_failures', counts: { completed: 1, failed: 1 } });
    expect(await client().getBatch(accepted.id)).toMatchObject({ id: accepted.id, state: 'completed_with_failures', size: 2 });
  });

  it('cancelBatch cancels the members that have not ended, and their waits reject with FERRY_ERR_CANCELLED', async () => {
    const later = stack.origin.url('/client/member-later.bin');
    const accepted = await client().enqueueBatch({
      downloads: [
        { url: later, delayMs: 60_000 },
        { url: later, delayMs: 60_000 },
      ],
    });

    const cancelled = await client().cancelBatch(accepted.id);

    expect(cancelled).toMatchObject({ id: accepted.id, state: 'cancelled', size: 2 });
    for (const id of accepted.downloads) expect((await rejection(client().wait(id))).code).toBe('FERRY_ERR_CANCELLED');
  });

  it('enqueueBatch refuses a batch with an invalid member, naming its index, and enqueues nothing', async () => {
    const err = await rejection(client().enqueueBatch({ downloads: [{ url: stack.origin.url('/fine') }, { url: 'not a url' }] }));
    expect(err).toMatchObject({ code: 'FERRY_ERR_VALIDATION', status: 400 });
    expect(err.issues.map((issue) => issue.path)).toEqual(['downloads.1.url']);
  });
});
