import { createHash } from 'node:crypto';
import { readFile, rm } from 'node:fs/promises';
import { request } from 'undici';
import { describe, expect, it } from 'vitest';
import { API_KEY, bearer, OTHER_API_KEY } from '../support/ferry.js';
import { pathOf } from '../support/files.js';
import { serveFile, status } from '../support/origin.js';
import { useStack } from '../support/stack.js';

const stack = useStack({ workers: 1 });
const sha256 = (bytes: Buffer) => createHash('sha256').update(bytes).digest('hex');

async function get(path: string, headers: Record<string, string> = {}) {
  const response = await fetch(`${stack.ferry.baseUrl}${path}`, { headers: { ...bearer(API_KEY), ...headers } });
  return { response, body: Buffer.from(await response.arrayBuffer()) };
}

describe('GET /v1/downloads/{id}/content', () => {
  it('streams the stored bytes with Content-Type, Content-Length, ETag and a download name', async () => {
    const file = await stack.origin.randomFile('served.bin', 3 * 1024 * 1024 + 17);
    const final = await stack.ferry.waitFor(
      await stack.ferry.enqueue({
        url: stack.origin.route('/content/served.bin', serveFile(file, { headers: { 'content-type': 'application/x-ferry-test' } })),
      }),
    );
    const { response, body } = await get(`/v1/downloads/${final.id}/content`);
    expect(response.status).toBe(200);
    expect(sha256(body)).toBe(file.sha256);
    expect(response.headers.get('content-type')).toBe('application/x-ferry-test');
    expect(response.headers.get('content-length')).toBe(String(file.size));
    expect(response.headers.get('accept-ranges')).toBe('bytes');
    expect(response.headers.get('etag')).toBeTruthy();
    expect(response.headers.get('content-disposition')).toBe("attachment; filename*=UTF-8''served.bin");
  });

  it("names a renamed file in RFC 8187 attr-chars only, so strict parsers read 'its (1).txt' too", async () => {
    const file = await stack.origin.randomFile('quoted.bin', 10);
    const url = stack.origin.route('/content/quoted.bin', serveFile(file));
    await stack.ferry.waitFor(await stack.ferry.enqueue({ url, filename: "it's.txt" }));
    const renamed = await stack.ferry.waitFor(await stack.ferry.enqueue({ url, filename: "it's.txt" }));
    expect(renamed.result?.filename).toBe("it's (1).txt");
    const { response } = await get(`/v1/downloads/${renamed.id}/content`);
    const header = response.headers.get('content-disposition') ?? '';
    expect(header).toBe("attachment; filename*=UTF-8''it%27s%20%281%29.txt");
    // RFC 8187 §3.2.1: attr-char, or a percent-encoded byte.
    expect(/^attachment; filename\*=UTF-8''(?:%[0-9A-F]{2}|[A-Za-z0-9!#$&+.^_`|~-])+$/.test(header)).toBe(true);
  });

  it('serves a Range with 206 and exactly those bytes, and honours If-None-Match', async () => {
    const file = await stack.origin.randomFile('ranged.bin', 100_000);
    const final = await stack.ferry.waitFor(await stack.ferry.enqueue({ url: stack.origin.route('/content/ranged.bin', serveFile(file)) }));
    const all = await readFile(file.path);
    const ranged = await get(`/v1/downloads/${final.id}/content`, { range: 'bytes=1000-1999' });
    expect(ranged.response.status).toBe(206);
    expect(ranged.response.headers.get('content-range')).toBe(`bytes 1000-1999/${file.size}`);
    expect(ranged.body.equals(all.subarray(1000, 2000))).toBe(true);
    const tail = await get(`/v1/downloads/${final.id}/content`, { range: 'bytes=-10' });
    expect(tail.body.equals(all.subarray(file.size - 10))).toBe(true);
    const etag = ranged.response.headers.get('etag')!;
    // Not fetch(): the Fetch standard adds Cache-Control: no-cache to a request carrying If-None-Match.
    const revalidated = await request(`${stack.ferry.baseUrl}/v1/downloads/${final.id}/content`, { headers: { ...bearer(API_KEY), 'if-none-match': etag } });
    await revalidated.body.dump();
    expect(revalidated.statusCode).toBe(304);
  });

  it('honours If-Range: the range while the ETag still matches, the whole file once it does not; HEAD sends no body', async () => {
    const file = await stack.origin.randomFile('if-range.bin', 10_000);
    const final = await stack.ferry.waitFor(await stack.ferry.enqueue({ url: stack.origin.route('/content/if-range.bin', serveFile(file)) }));
    const etag = (await get(`/v1/downloads/${final.id}/content`, { range: 'bytes=0-0' })).response.headers.get('etag')!;
    expect(etag).toBe(`"${file.sha256}"`);
    const holds = await get(`/v1/downloads/${final.id}/content`, { range: 'bytes=100-199', 'if-range': etag });
    expect(holds.response.status).toBe(206);
    expect(holds.body).toHaveLength(100);
    const changed = await get(`/v1/downloads/${final.id}/content`, { range: 'bytes=100-199', 'if-range': '"another-version"' });
    expect(changed.response.status).toBe(200);
    expect(sha256(changed.body)).toBe(file.sha256);
    const head = await request(`${stack.ferry.baseUrl}/v1/downloads/${final.id}/content`, { method: 'HEAD', headers: bearer(API_KEY) });
    expect(head.statusCode).toBe(200);
    expect(head.headers['content-length']).toBe(String(file.size));
    expect((await head.body.arrayBuffer()).byteLength).toBe(0);
  });

  it('serves an empty file whole (200) for a suffix Range, which RFC 9110 §14.1.2 counts as satisfiable, and 416 for bytes=0-', async () => {
    const file = await stack.origin.randomFile('empty.bin', 0);
    const final = await stack.ferry.waitFor(await stack.ferry.enqueue({ url: stack.origin.route('/content/empty.bin', serveFile(file)) }));
    expect(final.result?.bytes).toBe(0);
    const suffix = await get(`/v1/downloads/${final.id}/content`, { range: 'bytes=-5' });
    expect(suffix.response.status).toBe(200);
    expect(suffix.body).toHaveLength(0);
    expect((await get(`/v1/downloads/${final.id}/content`, { range: 'bytes=0-' })).response.status).toBe(416);
  });

  it('answers 416 with the size for a Range past the end, and 412 for a failed If-Match', async () => {
    const file = await stack.origin.randomFile('short.bin', 5000);
    const final = await stack.ferry.waitFor(await stack.ferry.enqueue({ url: stack.origin.route('/content/short.bin', serveFile(file)) }));
    const past = await get(`/v1/downloads/${final.id}/content`, { range: 'bytes=5000-' });
    expect(past.response.status).toBe(416);
    expect(past.response.headers.get('content-range')).toBe('bytes */5000');
    expect(JSON.parse(past.body.toString())).toMatchObject({ code: 'FERRY_ERR_RANGE_NOT_SATISFIABLE' });
    const stale = await get(`/v1/downloads/${final.id}/content`, { 'if-match': '"not-the-etag"' });
    expect(stale.response.status).toBe(412);
    expect(JSON.parse(stale.body.toString())).toMatchObject({ code: 'FERRY_ERR_PRECONDITION_FAILED' });
  });

  it('answers 409 FERRY_ERR_NOT_READY before the download completes, and 404 for another key or a deleted file', async () => {
    const later = await stack.ferry.enqueue({ url: stack.origin.route('/content/later.bin', status(404)), delayMs: 60_000 });
    const notReady = await get(`/v1/downloads/${later}/content`);
    expect(notReady.response.status).toBe(409);
    expect(JSON.parse(notReady.body.toString())).toEqual({
      code: 'FERRY_ERR_NOT_READY',
      message: `download ${later} is delayed; its content is available once it is completed`,
    });

    const file = await stack.origin.randomFile('gone.bin', 10);
    const done = await stack.ferry.waitFor(await stack.ferry.enqueue({ url: stack.origin.route('/content/gone.bin', serveFile(file)) }));
    expect((await get(`/v1/downloads/${done.id}/content`, bearer(OTHER_API_KEY))).response.status).toBe(404);
    await rm(pathOf(done.result!.location));
    const gone = await get(`/v1/downloads/${done.id}/content`);
    expect(gone.response.status).toBe(404);
    expect(JSON.parse(gone.body.toString()).message).toMatch(/no longer in storage/);
  });

  it('answers 409 FERRY_ERR_WRONG_STATE for a failed or cancelled download, which will have no content unless retried', async () => {
    const failed = await stack.ferry.waitFor(await stack.ferry.enqueue({ url: stack.origin.route('/content/missing', status(404)) }));
    const cancelled = await stack.ferry.enqueue({ url: stack.origin.route('/content/cancelled.bin', status(404)), delayMs: 60_000 });
    expect((await stack.ferry.request('DELETE', `/v1/downloads/${cancelled}`)).status).toBe(200);
    for (const [id, state] of [
      [failed.id, 'failed'],
      [cancelled, 'cancelled'],
    ]) {
      const answer = await get(`/v1/downloads/${id}/content`);
      expect(answer.response.status).toBe(409);
      expect(JSON.parse(answer.body.toString())).toEqual({
        code: 'FERRY_ERR_WRONG_STATE',
        message: `download ${id} is ${state}, so it has no content and will get none unless it is retried (POST /v1/downloads/${id}/retry)`,
      });
    }
  });
});
