import { existsSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CHROMIUM, openBrowser, type TestBrowser } from '../support/browser.js';
import { API_KEY } from '../support/ferry.js';
import { useStack } from '../support/stack.js';

const stack = useStack({ workers: 1 });
let browser: TestBrowser;

beforeAll(async () => {
  browser = await openBrowser(stack.ferry.baseUrl);
});
afterAll(async () => {
  await browser?.close();
});

/** Markup that would add a `#xss` element (and run a handler, were the policy not to stop it) if the page rendered it as HTML. */
const PAYLOAD = `<img id=xss src=x onerror="document.title='pwned'">`;

describe.skipIf(!existsSync(CHROMIUM))(`the web page shown markup an origin controls (needs ${CHROMIUM})`, () => {
  it('renders it as text: a filename from Content-Disposition, an error message and a URL never become elements', async () => {
    const { origin } = stack;
    const named = origin.route('/xss/named.bin', (_req, res) => {
      res
        .writeHead(200, { 'content-type': 'text/html', 'content-disposition': `attachment; filename="${PAYLOAD.replaceAll('"', "'")}.html"` })
        .end('<b>hi</b>');
    });
    // A reason phrase of the origin's own: whatever of it reaches the failure message must stay text.
    const failing = origin.route('/xss/failing.bin', (_req, res) => {
      res.statusMessage = PAYLOAD.replaceAll('"', "'");
      res.writeHead(404).end();
    });
    const inUrl = `${origin.route('/xss/in-url.bin', (_req, res) => void res.writeHead(200).end('x'))}?q=<img/id=xss/src=x>`;
    const page = await browser.context.newPage();
    const violations: string[] = [];
    page.on('console', (message) => {
      if (/Content Security Policy/i.test(message.text())) violations.push(message.text());
    });
    await page.goto(`${stack.ferry.baseUrl}/`);
    await page.getByLabel('API key').fill(API_KEY);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByLabel('URLs, one per line').fill([named, failing, inUrl].join('\n'));
    await page.getByRole('button', { name: 'Add 3 downloads' }).click();
    await expect.poll(() => page.locator('li.download[data-state=completed]').count(), { timeout: 30_000 }).toBe(2);
    await expect.poll(() => page.locator('li.download[data-state=failed]').count(), { timeout: 30_000 }).toBe(1);
    await expect.poll(async () => (await page.getByTestId('failure').textContent()) ?? '', { timeout: 30_000 }).toContain('FERRY_ERR_ORIGIN_REJECTED');
    expect(await page.locator('li.download').allTextContents()).toEqual(
      expect.arrayContaining([expect.stringContaining("<img id=xss src=x onerror='document.title")]),
    );
    expect(await page.locator('#xss').count()).toBe(0);
    expect(await page.title()).not.toBe('pwned');
    expect(violations).toEqual([]);
    await page.close();
  });
});
