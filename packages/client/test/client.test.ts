import http, { type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FerryClient, FerryClientError, type DownloadStatus, type ProgressEvent } from '../src/index.js';

/**
 * A real HTTP server standing in for answers the real API does not give on demand
 * (a proxy's error page, a broken body, an API without events); the e2e suites cover the real one.
 */
let handle: (req: IncomingMessage, res: ServerResponse) => void = (_req, res) => res.writeHead(500).end();
const seen: Array<{ method: string; url: string; lastEventId: string | undefined }> = [];
const server = http.createServer((req, res) => {
  seen.push({ method: req.method ?? '', url: req.url ?? '', lastEventId: req.headers['last-event-id'] as string | undefined });
  handle(req, res);
});
let baseUrl = '';

beforeAll(async () => {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}/ferry`;
});
afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

const client = () => new FerryClient({ baseUrl, apiKey: 'fry_key', pollIntervalMs: 20 });
const json = (res: ServerResponse, status: number, body: unknown) => res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body));

function status(state: DownloadStatus['state'], receivedBytes: number): DownloadStatus {
  const result = { location: 'file:///f.bin', filename: 'f.bin', bytes: 100, sha256: 'ab', digest: null, contentType: null, etag: null, lastModified: null };
  return {
    id: 'd1',
    url: 'https://example.com/f.bin',
    state,
    batchId: null,
    progress: { receivedBytes, totalBytes: 100 },
    attempts: { made: state === 'completed' ? 1 : 0, max: 5 },
    result: state === 'completed' ? result : null,
    error: null,
    waiting: null,
    createdAt: '2026-11-22T00:00:00.000Z',
    finishedAt: state === 'completed' ? '2026-11-22T00:00:01.000Z' : null,
  };
}

async function caught(promise: Promise<unknown>): Promise<FerryClientError> {
  const err = await promise.catch((reason: unknown) => reason);
  expect(err).toBeInstanceOf(FerryClientError);
  return err as FerryClientError;
}

describe('requests', () => {
  it('go under the base URL path with the key, and Ferry error bodies become FerryClientError with code, status and issues', async () => {
    seen.length = 0;
    handle = (_req, res) =>
      json(res, 400, { code: 'FERRY_ERR_VALIDATION', message: 'Invalid download request: url is required', issues: [{ path: 'url', message: 'is required' }] });

    const err = await caught(client().enqueue({ url: '' }));

    expect(seen[0]).toMatchObject({ method: 'POST', url: '/ferry/v1/downloads' });
    expect(err).toMatchObject({
      code: 'FERRY_ERR_VALIDATION',
      status: 400,
      message: 'Invalid download request: url is required',
      issues: [{ path: 'url', message: 'is required' }],
    });
  });

  it('answered by something other than Ferry (a proxy page) fail with FERRY_CLIENT_ERR_BAD_RESPONSE and the status', async () => {
    handle = (_req, res) => res.writeHead(502, { 'content-type': 'text/html' }).end('<html>Bad Gateway</html>');
    expect(await caught(client().get('d1'))).toMatchObject({ code: 'FERRY_CLIENT_ERR_BAD_RESPONSE', status: 502 });
  });

  it('answered with a body outside the contract fail with FERRY_CLIENT_ERR_BAD_RESPONSE naming the field', async () => {
    handle = (_req, res) => json(res, 200, { ...status('active', 1), state: 'sleeping' });
    const err = await caught(client().get('d1'));
    expect(err.code).toBe('FERRY_CLIENT_ERR_BAD_RESPONSE');
    expect(err.issues.map((issue) => issue.path)).toEqual(['state']);
  });
});

describe('wait', () => {
  it('polls the status when the API has no event stream, with speed from consecutive answers', async () => {
    let polls = 0;
    handle = (req, res) => {
      if (req.url?.endsWith('/events')) return json(res, 404, { code: 'FERRY_ERR_NOT_FOUND', message: `no route GET ${req.url}` });
      polls += 1;
      return json(res, 200, polls < 4 ? status('active', polls * 20) : status('completed', 100));
    };
    const reports: ProgressEvent[] = [];

    const result = await client().wait('d1', { onProgress: (progress) => reports.push(progress) });

    expect(result.filename).toBe('f.bin');
    expect(reports.map((r) => r.receivedBytes)).toEqual([20, 40, 60]);
    expect(reports[0]?.bytesPerSecond).toBeNull();
    expect(reports[2]?.bytesPerSecond).toBeGreaterThan(0);
    expect(reports[2]?.etaSeconds).toBeGreaterThan(0);
  });

  it('tells each change of state while polling, so that a paused download is told apart from a stalled one', async () => {
    const answers: Array<[DownloadStatus['state'], number]> = [
      ['queued', 0],
      ['active', 20],
      ['active', 40],
      ['paused', 40],
      ['paused', 40],
      ['active', 60],
      ['completed', 100],
    ];
    handle = (req, res) => {
      if (req.url?.endsWith('/events')) return json(res, 404, { code: 'FERRY_ERR_NOT_FOUND', message: `no route GET ${req.url}` });
      const [state, bytes] = answers.shift() ?? ['completed', 100];
      return json(res, 200, status(state, bytes));
    };
    const states: string[] = [];
    const reports: number[] = [];

    await client().wait('d1', { onState: (state) => states.push(state), onProgress: (progress) => reports.push(progress.receivedBytes) });

    expect(states).toEqual(['queued', 'active', 'paused', 'active']);
    expect(reports).toEqual([20, 40, 60]);
  });

  it('reopens a dropped stream with Last-Event-ID after the retry the server asked for', async () => {
    seen.length = 0;
    let opened = 0;
    handle = (_req, res) => {
      opened += 1;
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      if (opened === 1) {
        res.write('retry: 10\n\nid: 7\nevent: state\ndata: {"type":"state","id":"d1","state":"active"}\n\n');
        // Once the event is out, the connection drops.
        setTimeout(() => res.destroy(), 50);
        return;
      }
      res.end(`: hello\n\nevent: completed\ndata: ${JSON.stringify({ type: 'completed', id: 'd1', result: status('completed', 100).result })}\n\n`);
    };

    expect((await client().wait('d1')).sha256).toBe('ab');
    expect(seen.map((r) => [r.url, r.lastEventId])).toEqual([
      ['/ferry/v1/downloads/d1/events', undefined],
      ['/ferry/v1/downloads/d1/events', '7'],
    ]);
  });

  it('gives up after five transient failures in a row with the last one', async () => {
    handle = (_req, res) => json(res, 503, { code: 'FERRY_ERR_REDIS_UNAVAILABLE', message: 'Redis is unreachable' });
    const impatient = new FerryClient({ baseUrl, apiKey: 'fry_key' });
    const started = Date.now();
    const err = await caught(impatient.wait('d1', { signal: AbortSignal.timeout(60_000) }));
    expect(err).toMatchObject({ code: 'FERRY_ERR_REDIS_UNAVAILABLE', status: 503 });
    expect(Date.now() - started).toBeGreaterThanOrEqual(500 + 1000 + 2000 + 4000 + 8000 - 100);
  }, 30_000);
});
