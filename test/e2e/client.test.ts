import { describe, expect, it } from 'vitest';
import { FerryClient, type ProgressEvent } from '@ferry/client';
import { freePort } from '@ferry/launcher/redis-server';
import { rejection } from '../support/client-errors.js';
import { API_KEY } from '../support/ferry.js';
import { serveFile, status } from '../support/origin.js';
import { useStack } from '../support/stack.js';
import { until } from '../support/wait.js';

const KiB = 1024;
const stack = useStack({ workers: 1 });
const client = () => new FerryClient({ baseUrl: stack.ferry.baseUrl, apiKey: API_KEY, pollIntervalMs: 100 });

describe('when a download completes', () => {
  it('wait resolves with its result, whose sha256 is that of the file the origin served', async () => {
    const file = await stack.origin.randomFile('client-ok.bin', 256 * KiB);
    const url = stack.origin.route('/client/ok.bin', serveFile(file));

    const accepted = await client().enqueue({ url });
    const result = await client().wait(accepted.id);

    expect(accepted).toEqual({ id: expect.any(String), state: 'queued', url });
    expect(result).toMatchObject({ filename: 'ok.bin', bytes: file.size, sha256: file.sha256 });
    expect(await client().get(accepted.id)).toMatchObject({ id: accepted.id, state: 'completed', result });
  });

  it('reports progress whose received bytes never go down, up to the file size', async () => {
    const file = await stack.origin.randomFile('client-slow.bin', 384 * KiB);
    const url = stack.origin.route('/client/slow.bin', serveFile(file, { bytesPerSecond: 256 * KiB }));
    const reports: ProgressEvent[] = [];

    const { id } = await client().enqueue({ url });
    const result = await client().wait(id, { onProgress: (progress) => reports.push(progress) });

    expect(result.sha256).toBe(file.sha256);
    expect(reports.length).toBeGreaterThanOrEqual(2);
    const bytes = reports.map((r) => r.receivedBytes);
    expect(bytes).toEqual([...bytes].sort((a, b) => a - b));
    expect(bytes.at(-1)).toBeLessThanOrEqual(file.size);
    expect(reports.every((r) => r.id === id && (r.totalBytes === null || r.totalBytes === file.size))).toBe(true);
  });
});

describe('when a download fails', () => {
  it('wait rejects with the failure code and message: FERRY_ERR_ORIGIN_REJECTED for an origin 404', async () => {
    const url = stack.origin.route('/client/missing.bin', status(404));
    const { id } = await client().enqueue({ url });

    const err = await rejection(client().wait(id));

    expect(err).toMatchObject({ name: 'FerryClientError', code: 'FERRY_ERR_ORIGIN_REJECTED', message: `origin answered 404 Not Found for ${url}` });
  });

  it('retry starts it again, and wait then resolves with the result', async () => {
    const file = await stack.origin.randomFile('client-second.bin', 64 * KiB);
    const url = stack.origin.route('/client/second.bin', status(404), serveFile(file));
    const { id } = await client().enqueue({ url });
    expect((await rejection(client().wait(id))).code).toBe('FERRY_ERR_ORIGIN_REJECTED');

    expect(await client().retry(id)).toEqual({ id, state: 'queued', url });
    expect((await client().wait(id)).sha256).toBe(file.sha256);
  });
});

describe('when Ferry refuses a request', () => {
  it('throws FERRY_ERR_VALIDATION with the HTTP status and the field-by-field issues', async () => {
    const err = await rejection(client().enqueue({ url: 'ftp://example.com/file.bin' }));

    expect(err).toMatchObject({ code: 'FERRY_ERR_VALIDATION', status: 400 });
    expect(err.issues).toEqual([{ path: 'url', message: 'must be an absolute http:// or https:// URL' }]);
  });

  it('throws FERRY_ERR_NOT_FOUND for a download it does not know, from get and from wait', async () => {
    const missing = '00000000-0000-4000-8000-000000000000';
    expect(await rejection(client().get(missing))).toMatchObject({ code: 'FERRY_ERR_NOT_FOUND', status: 404 });
    expect(await rejection(client().wait(missing))).toMatchObject({ code: 'FERRY_ERR_NOT_FOUND', status: 404 });
  });

  it('throws FERRY_ERR_UNAUTHORIZED for a key it does not know', async () => {
    const stranger = new FerryClient({ baseUrl: stack.ferry.baseUrl, apiKey: 'fry_not-a-key-ferry-knows' });
    expect(await rejection(stranger.get('anything'))).toMatchObject({ code: 'FERRY_ERR_UNAUTHORIZED', status: 401 });
  });
});

describe('when nothing answers', () => {
  it('throws FERRY_CLIENT_ERR_UNREACHABLE, naming the address', async () => {
    const baseUrl = `http://127.0.0.1:${await freePort()}`;
    const err = await rejection(new FerryClient({ baseUrl, apiKey: API_KEY }).get('anything'));

    expect(err.code).toBe('FERRY_CLIENT_ERR_UNREACHABLE');
    expect(err.status).toBeUndefined();
    expect(err.message).toContain(`cannot reach Ferry at ${baseUrl}: connect ECONNREFUSED`);
  });
});

describe('when the caller aborts', () => {
  it('wait rejects with FERRY_CLIENT_ERR_ABORTED at once, and the download goes on', async () => {
    const file = await stack.origin.randomFile('client-abort.bin', 512 * KiB);
    const url = stack.origin.route('/client/abort.bin', serveFile(file, { bytesPerSecond: 128 * KiB }));
    const { id } = await client().enqueue({ url });
    const controller = new AbortController();

    const waiting = client().wait(id, { signal: controller.signal, onProgress: () => controller.abort(new Error('enough')) });
    const err = await rejection(waiting);

    expect(err.code).toBe('FERRY_CLIENT_ERR_ABORTED');
    expect((err.cause as Error).message).toBe('enough');
    expect((await client().get(id)).state).toBe('active');
    expect((await client().wait(id)).sha256).toBe(file.sha256);
  });
});

/** Resolves at the first progress report, for acting on a download while it is active. */
function firstProgress(): { onProgress: () => void; reported: Promise<void> } {
  let onProgress = () => {};
  const reported = new Promise<void>((resolve) => (onProgress = resolve));
  return { onProgress, reported };
}

describe('when a download is cancelled while a caller waits', () => {
  it('wait rejects with FERRY_ERR_CANCELLED', async () => {
    const file = await stack.origin.randomFile('client-cancel.bin', 1024 * KiB);
    const url = stack.origin.route('/client/cancel.bin', serveFile(file, { bytesPerSecond: 128 * KiB }));
    const { id } = await client().enqueue({ url });
    const { onProgress, reported } = firstProgress();
    const waiting = rejection(client().wait(id, { onProgress }));
    await reported;

    const cancelled = await client().cancel(id);

    expect(['cancelled', 'active']).toContain(cancelled.state);
    expect(await waiting).toMatchObject({ code: 'FERRY_ERR_CANCELLED', status: undefined });
    expect(await client().get(id)).toMatchObject({ state: 'cancelled', error: { code: 'FERRY_ERR_CANCELLED' } });
  });
});

describe('when a download is paused while a caller waits', () => {
  it('wait goes on waiting, and resolves with the result after resume', async () => {
    const file = await stack.origin.randomFile('client-pause.bin', 512 * KiB);
    const url = stack.origin.route('/client/pause.bin', serveFile(file, { etag: '"cp1"', bytesPerSecond: 128 * KiB }));
    const { id } = await client().enqueue({ url });
    const { onProgress, reported } = firstProgress();
    let settled = false;
    const waiting = client()
      .wait(id, { onProgress })
      .finally(() => (settled = true));
    await reported;

    expect(['paused', 'active']).toContain((await client().pause(id)).state);
    await until(async () => (await client().get(id)).state === 'paused', 'the download to pause');
    await new Promise((resolve) => setTimeout(resolve, 500));
    expect(settled).toBe(false);

    expect(await client().resume(id)).toEqual({ id, state: 'queued', url });
    expect((await waiting).sha256).toBe(file.sha256);
    expect(await rejection(client().resume(id))).toMatchObject({ code: 'FERRY_ERR_WRONG_STATE', status: 409 });
  });
});

describe('list', () => {
  it("pages through the key's downloads newest first, filtered by state", async () => {
    const url = stack.origin.url('/client/later.bin');
    const ids: string[] = [];
    for (let i = 0; i < 3; i += 1) ids.push((await client().enqueue({ url, delayMs: 60_000 })).id);

    const first = await client().list({ state: 'delayed', limit: 2 });
    const second = await client().list({ state: 'delayed', limit: 2, cursor: first.nextCursor ?? undefined });

    expect(first.items.map((d) => d.id)).toEqual([ids[2], ids[1]]);
    expect(second.items.map((d) => d.id)).toEqual([ids[0]]);
    expect(second.nextCursor).toBeNull();
    expect(first.items.every((d) => d.state === 'delayed' && d.url === url)).toBe(true);
    for (const id of ids) await client().cancel(id);
  });
});
