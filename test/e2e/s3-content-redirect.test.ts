import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { Writable } from 'node:stream';
import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import { loggerOptions } from '@ferry/core';
import { openBrowser } from '../support/browser.js';
import { API_KEY, bearer, OTHER_API_KEY } from '../support/ferry.js';
import { serveFile } from '../support/origin.js';
import { useStack } from '../support/stack.js';
import { until } from '../support/wait.js';

const MiB = 1024 * 1024;
const REDIRECT = { FERRY_S3_CONTENT: 'redirect', FERRY_S3_PRESIGN_TTL_SECONDS: '120' };

const stack = useStack({ s3: true, eachTest: true, env: REDIRECT });
const sha256 = (bytes: Buffer) => createHash('sha256').update(bytes).digest('hex');

/** Completes a download of a random file of `size` and gives its content route and the file. */
async function stored(size: number, apiKey = API_KEY) {
  const { ferry, origin } = stack;
  const file = await origin.randomFile(`redirect-${size}.bin`, size);
  const final = await ferry.waitFor(
    await ferry.enqueue({ url: origin.route(`/redirect/${size}/redirect-${size}.bin`, serveFile(file)) }, apiKey),
    undefined,
    undefined,
    apiKey,
  );
  expect(final.state, JSON.stringify(final.error)).toBe('completed');
  return { file, id: final.id, content: `${ferry.baseUrl}/v1/downloads/${final.id}/content` };
}

/** The content route's answer, its redirect not followed. */
const ask = (content: string, apiKey = API_KEY) => fetch(content, { headers: bearer(apiKey), redirect: 'manual' });

describe('GET /v1/downloads/{id}/content with FERRY_S3_CONTENT=redirect', () => {
  it('answers 307 to a presigned URL that serves the bytes, and a Range of them, to a client without credentials', async () => {
    await stack.ferry.startWorker();
    const { file, content } = await stored(6 * MiB + 7);

    const answer = await ask(content);
    expect(answer.status).toBe(307);
    expect(answer.headers.get('cache-control')).toBe('no-store');
    const url = answer.headers.get('location') ?? '';
    expect(url.startsWith(`${stack.s3.endpoint}/${stack.s3.bucket}/`), url).toBe(true);
    expect(new URL(url).searchParams.get('X-Amz-Expires')).toBe('120');

    // Plain fetch, no AWS credentials, no Ferry key: the URL is all a client needs.
    const whole = await fetch(url);
    expect(whole.status).toBe(200);
    expect(whole.headers.get('content-disposition')).toContain('redirect-6291463.bin');
    expect(sha256(Buffer.from(await whole.arrayBuffer()))).toBe(file.sha256);

    const start = 5 * MiB - 3;
    const ranged = await fetch(url, { headers: { range: `bytes=${start}-${start + 99}` } });
    expect(ranged.status).toBe(206);
    expect(ranged.headers.get('content-range')).toBe(`bytes ${start}-${start + 99}/${file.size}`);
    expect(Buffer.from(await ranged.arrayBuffer())).toEqual((await readFile(file.path)).subarray(start, start + 100));
  });

  it("gives another key's download a 404, not a URL", async () => {
    await stack.ferry.startWorker();
    const { content } = await stored(1000, OTHER_API_KEY);

    const answer = await ask(content, API_KEY);

    expect(answer.status).toBe(404);
    expect(answer.headers.get('location')).toBeNull();
    expect(((await answer.json()) as { code: string }).code).toBe('FERRY_ERR_NOT_FOUND');
    expect((await ask(content, OTHER_API_KEY)).status).toBe(307);
  });

  it('gives no URL for an object replaced since the download completed', async () => {
    const { ferry, origin } = stack;
    await ferry.startWorker();
    const { content } = await stored(2000);
    const other = await origin.randomFile('redirect-other.bin', 3000);
    const replaced = await ferry.waitFor(await ferry.enqueue({ url: origin.route('/elsewhere/redirect-2000.bin', serveFile(other)), onConflict: 'overwrite' }));
    expect(replaced.state, JSON.stringify(replaced.error)).toBe('completed');

    const answer = await ask(content);

    expect(answer.status).toBe(404);
    expect(answer.headers.get('location')).toBeNull();
  });

  it('hands out URLs the bucket refuses once they expire', async () => {
    const ferry = await stack.restartFerry({ ...REDIRECT, FERRY_S3_PRESIGN_TTL_SECONDS: '1' });
    await ferry.startWorker();
    const { content } = await stored(1000);
    const url = (await ask(content)).headers.get('location') ?? '';
    expect(new URL(url).searchParams.get('X-Amz-Expires')).toBe('1');

    // s3rver checks X-Amz-Date + X-Amz-Expires against its clock, as S3 does.
    let refusal = '';
    await until(
      async () => {
        const answer = await fetch(url);
        refusal = answer.status === 403 ? await answer.text() : '';
        return refusal !== '';
      },
      'the URL to expire',
      10_000,
    );
    expect(refusal).toContain('Request has expired');
  });

  it('keeps the signature and credential of a presigned URL out of a log line', async () => {
    await stack.ferry.startWorker();
    const { content } = await stored(10);
    const url = (await ask(content)).headers.get('location') ?? '';
    const signature = new URL(url).searchParams.get('X-Amz-Signature') ?? '';
    expect(signature).toMatch(/^[0-9a-f]{64}$/);
    const lines: string[] = [];
    const sink = new Writable({ write: (chunk: Buffer, _encoding, done) => (lines.push(chunk.toString()), done()) });
    const logger = pino(loggerOptions({ log: { level: 'info', format: 'json' } }), sink);

    logger.info({ location: url }, `redirected to ${url}`);

    expect(lines).toHaveLength(1);
    expect(lines[0]).not.toContain(signature);
    expect(lines[0]).not.toContain('S3RVER');
    expect(lines[0]).toContain('X-Amz-Signature=[redacted]');
  });
});

describe("the web page's Save with FERRY_S3_CONTENT=redirect", () => {
  it('saves the bytes through the API: the page may connect to its own origin only, so it is not sent to the bucket', async () => {
    await stack.ferry.startWorker();
    const { file } = await stored(300_000);
    const browser = await openBrowser(new URL(stack.ferry.baseUrl).origin);
    try {
      const page = await browser.context.newPage();
      await page.goto(`${stack.ferry.baseUrl}/`);
      await page.getByLabel('API key').fill(API_KEY);
      await page.getByRole('button', { name: 'Sign in' }).click();
      const name = 'redirect-300000.bin';
      const save = page.locator('li.download', { has: page.locator('.name', { hasText: name }) }).getByRole('button', { name: `Save ${name}` });
      const saving = page.waitForEvent('download', { timeout: 20_000 });
      await save.click();
      const saved = await saving;
      expect(sha256(await readFile((await saved.path()) ?? ''))).toBe(file.sha256);
      expect(browser.elsewhere).toEqual([]);
    } finally {
      await browser.close();
    }
  });
});
