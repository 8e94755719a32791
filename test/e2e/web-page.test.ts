import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import path from 'node:path';
import type { Locator, Page } from 'playwright-core';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { CHROMIUM, openBrowser, type AxeViolation, type TestBrowser } from '../support/browser.js';
import { API_KEY, DASHBOARD_PASSWORD } from '../support/ferry.js';
import { serveFile, status } from '../support/origin.js';
import { useStack } from '../support/stack.js';

const stack = useStack({ workers: 1 });
const ARTIFACTS = path.join(import.meta.dirname, '..', 'artifacts');
const axeSource = () => readFile(createRequire(import.meta.url).resolve('axe-core/axe.min.js'), 'utf8');

let browser: TestBrowser;
const problems: string[] = [];

async function openPage(): Promise<Page> {
  const page = await browser.context.newPage();
  page.on('console', (message) => {
    // Chromium logs every 4xx as an error; the one the test provokes (a refused batch) is expected.
    const refusedBatch = message.text().includes('status of 400') && message.location().url.endsWith('/v1/batches');
    if (message.type() === 'error' && !refusedBatch) problems.push(`${message.text()} (${message.location().url})`);
  });
  page.on('pageerror', (error) => problems.push(error.message));
  return page;
}

async function signIn(page: Page): Promise<void> {
  await page.goto(`${stack.ferry.baseUrl}/`);
  await page.getByLabel('API key').fill(API_KEY);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.getByLabel('URLs, one per line').waitFor();
}

const rowOf = (page: Page, name: string): Locator => page.locator('li.download', { has: page.locator('.name', { hasText: name }) });
const bytesOf = async (row: Locator) => Number(await row.locator('[data-testid=bytes]').getAttribute('data-bytes'));
const text = (locator: Locator) => async () => (await locator.textContent()) ?? '';
const stateIs = (row: Locator, state: string) => expect.poll(() => row.getAttribute('data-state'), { timeout: 30_000 }).toBe(state);

beforeAll(async () => {
  browser = await openBrowser(stack.ferry.baseUrl);
});
afterAll(async () => {
  await browser?.close();
});
beforeEach(() => {
  problems.length = 0;
});

describe.skipIf(!existsSync(CHROMIUM))(`the web page in Chromium (needs ${CHROMIUM})`, () => {
  it('adds URLs as one batch, shows live bytes, pauses, resumes, cancels, reports a 404 and counts the end; a reload shows the same list', async () => {
    const { origin } = stack;
    const large = await origin.randomFile('large.bin', 3 * 1024 * 1024);
    const slow = await origin.randomFile('slow.bin', 2 * 1024 * 1024);
    const small = await origin.randomFile('small.txt', 20_000);
    const lines = [
      origin.route('/web/missing.bin', status(404)),
      origin.route('/web/large.bin', serveFile(large, { bytesPerSecond: 400_000, etag: '"large"' })),
      `${origin.route('/web/small.txt', serveFile(small, { headers: { 'content-type': 'text/plain' } }))} sha256:${small.sha256}`,
      origin.route('/web/slow.bin', serveFile(slow, { bytesPerSecond: 100_000 })),
      'ftp://example.com/not-http',
    ];
    const page = await openPage();
    await signIn(page);
    // What only the server can refuse (here a destination workers may not reach) comes back on its line, and nothing is enqueued.
    await page.getByLabel('URLs, one per line').fill('http://127.0.0.1:9/blocked.bin');
    await page.getByRole('button', { name: 'Add 1 download' }).click();
    await expect.poll(text(page.getByRole('region', { name: 'Lines to fix' })), { timeout: 30_000 }).toContain('FERRY_EGRESS_ALLOW');
    expect((await stack.ferry.request<{ items: unknown[] }>('GET', '/v1/downloads')).body.items).toEqual([]);
    // A text file of URLs, dropped on the box or chosen, goes into it, where it is checked like pasted lines.
    await page.getByLabel('URLs, one per line').fill('');
    const dropped = await page.evaluateHandle(
      "(() => { const data = new DataTransfer(); data.items.add(new File(['https://example.com/dropped.bin'], 'urls.txt', { type: 'text/plain' })); return data; })()",
    );
    await page.getByLabel('URLs, one per line').dispatchEvent('drop', { dataTransfer: dropped });
    await expect.poll(() => page.getByLabel('URLs, one per line').inputValue()).toBe('https://example.com/dropped.bin');
    await page.getByLabel('URLs, one per line').fill('');
    await page.getByLabel('Text file of URLs').setInputFiles({ name: 'urls.txt', mimeType: 'text/plain', buffer: Buffer.from(lines.join('\n')) });
    await expect.poll(() => page.getByLabel('URLs, one per line').inputValue()).toBe(lines.join('\n'));
    // The bad line is shown with the contract's own message before anything is sent.
    await expect
      .poll(text(page.getByRole('region', { name: 'Lines to fix' })), { timeout: 30_000 })
      .toContain('url must be an absolute http:// or https:// URL');
    await page.getByRole('button', { name: 'Add 4 downloads' }).click();
    await expect.poll(text(page.getByRole('status').first()), { timeout: 30_000 }).toBe('Added 4 downloads as one batch.');
    await expect.poll(() => page.getByLabel('URLs, one per line').inputValue()).toBe('ftp://example.com/not-http');

    const largeRow = rowOf(page, 'large.bin');
    await expect.poll(() => bytesOf(largeRow), { timeout: 30_000 }).toBeGreaterThan(0);
    const before = await bytesOf(largeRow);
    await expect.poll(() => bytesOf(largeRow), { timeout: 30_000 }).toBeGreaterThan(before);

    await largeRow.getByRole('button', { name: 'Pause large.bin' }).click();
    await stateIs(largeRow, 'paused');
    await largeRow.getByRole('button', { name: 'Resume large.bin' }).click();

    const slowRow = rowOf(page, 'slow.bin');
    await slowRow.getByRole('button', { name: 'Cancel slow.bin' }).click();
    await stateIs(slowRow, 'cancelled');
    // Speed and ETA come with the progress events once two reports arrived.
    await expect.poll(text(largeRow.locator('.speed')), { timeout: 30_000 }).toMatch(/\/s$/);
    await expect.poll(text(largeRow.locator('.eta')), { timeout: 30_000 }).toMatch(/left$/);
    // Mid-flight, for the README: one running, one cancelled, the rest as they came.
    await mkdir(ARTIFACTS, { recursive: true });
    await page.screenshot({ path: path.join(ARTIFACTS, 'web-page.png'), fullPage: true });

    const missingRow = rowOf(page, 'missing.bin');
    await stateIs(missingRow, 'failed');
    await expect.poll(text(missingRow.getByTestId('failure')), { timeout: 30_000 }).toContain('FERRY_ERR_ORIGIN_REJECTED');
    await expect.poll(text(missingRow.getByTestId('failure')), { timeout: 30_000 }).toContain('What to do: Fix the URL');

    await stateIs(largeRow, 'completed');
    const summary = page.getByTestId('summary');
    await expect.poll(text(summary.getByTestId('ended')), { timeout: 30_000 }).toBe('4 of 4 ended');
    await expect.poll(text(summary.getByTestId('count-completed')), { timeout: 30_000 }).toContain('2');
    await expect.poll(text(summary.getByTestId('count-failed')), { timeout: 30_000 }).toContain('1');
    await expect.poll(text(summary.getByTestId('count-cancelled')), { timeout: 30_000 }).toContain('1');

    // Retrying the 404 runs it again with full attempts: it fails the same way.
    await missingRow.getByRole('button', { name: 'Retry missing.bin' }).click();
    await expect.poll(text(page.getByTestId('notice')), { timeout: 30_000 }).toContain('retry:');
    await stateIs(missingRow, 'failed');
    await expect.poll(text(missingRow.getByTestId('failure')), { timeout: 30_000 }).toContain('FERRY_ERR_ORIGIN_REJECTED');
    expect(stack.origin.requests('/web/missing.bin').length).toBeGreaterThanOrEqual(2);

    // Save goes through the content endpoint with the bearer key: the bytes are the origin's.
    const saving = page.waitForEvent('download');
    await rowOf(page, 'small.txt').getByRole('button', { name: 'Save small.txt' }).click();
    const saved = await saving;
    expect(saved.suggestedFilename()).toBe('small.txt');
    expect(
      createHash('sha256')
        .update(await readFile((await saved.path())!))
        .digest('hex'),
    ).toBe(small.sha256);

    // The list is the API's, not the tab's memory: a reload (the key stays in this tab) shows the same downloads.
    await page.reload();
    await expect.poll(() => page.locator('li.download').count(), { timeout: 30_000 }).toBe(4);
    for (const [name, state] of [
      ['large.bin', 'completed'],
      ['small.txt', 'completed'],
      ['slow.bin', 'cancelled'],
      ['missing.bin', 'failed'],
    ]) {
      await stateIs(rowOf(page, name!), state!);
    }

    // axe-core, evaluated through DevTools: the page's CSP rightly refuses an injected inline <script>.
    await page.evaluate(await axeSource());
    const violations = await page.evaluate<AxeViolation[]>('axe.run(document).then((results) => results.violations)');
    const serious = violations.filter((violation) => violation.impact === 'serious' || violation.impact === 'critical');
    expect(serious.map((violation) => `${violation.id}: ${violation.help} (${violation.nodes.map((node) => node.target.join(' ')).join(', ')})`)).toEqual([]);

    // A narrow window still shows every row and its buttons without sideways scrolling.
    await page.setViewportSize({ width: 360, height: 800 });
    expect(await page.evaluate('document.documentElement.scrollWidth <= window.innerWidth')).toBe(true);
    await page.screenshot({ path: path.join(ARTIFACTS, 'web-page-narrow.png'), fullPage: true });
    await page.close();
    expect(problems).toEqual([]);
    expect(browser.elsewhere).toEqual([]);
  });

  it('adds and cancels a download with the keyboard alone, with a visible focus on every stop', async () => {
    const file = await stack.origin.randomFile('keyboard.bin', 2 * 1024 * 1024);
    const url = stack.origin.route('/web/keyboard.bin', serveFile(file, { bytesPerSecond: 100_000 }));
    const page = await openPage();
    await page.goto(`${stack.ferry.baseUrl}/`);
    const focused = () =>
      page.evaluate<{ label: string; outline: string }>(
        "({ label: document.activeElement.getAttribute('aria-label') ?? document.activeElement.id, outline: getComputedStyle(document.activeElement).outlineStyle })",
      );
    // A tab's sessionStorage is its own: this new page signs in again.
    await page.keyboard.press('Tab');
    expect((await focused()).label).toBe('api-key');
    await page.keyboard.type(API_KEY);
    await page.keyboard.press('Enter');
    await page.getByLabel('URLs, one per line').waitFor();
    const tabTo = async (wanted: string) => {
      for (let i = 0; i < 40; i += 1) {
        await page.keyboard.press('Tab');
        const now = await focused();
        if (now.label === wanted) {
          expect(now.outline).not.toBe('none');
          return;
        }
      }
      throw new Error(`Tab never reached ${wanted}`);
    };
    await tabTo('urls');
    await page.keyboard.type(url);
    await tabTo('');
    await page.keyboard.press('Enter');
    const row = rowOf(page, 'keyboard.bin');
    await row.waitFor();
    // Pause turns into Resume under the focus, so Enter twice pauses and resumes.
    await tabTo('Pause keyboard.bin');
    await page.keyboard.press('Enter');
    await stateIs(row, 'paused');
    expect((await focused()).label).toBe('Resume keyboard.bin');
    // The button ignores presses while the pause request is still answering.
    await expect.poll(() => page.evaluate("document.activeElement.getAttribute('aria-disabled')")).toBe('false');
    await page.keyboard.press('Enter');
    await expect.poll(() => row.getAttribute('data-state'), { timeout: 30_000 }).not.toBe('paused');
    await page.keyboard.press('Tab');
    expect((await focused()).label).toBe('Cancel keyboard.bin');
    await page.keyboard.press('Enter');
    await stateIs(row, 'cancelled');
    await page.close();
    expect(problems).toEqual([]);
    expect(browser.elsewhere).toEqual([]);
  });

  it('pauses, resumes, cancels and retries a whole batch', async () => {
    const file = await stack.origin.randomFile('member.bin', 2 * 1024 * 1024);
    const urls = ['one', 'two'].map((name) => stack.origin.route(`/web/batch-${name}.bin`, serveFile(file, { bytesPerSecond: 100_000 })));
    const page = await openPage();
    await signIn(page);
    await page.getByLabel('URLs, one per line').fill(urls.join('\n'));
    await page.getByRole('button', { name: 'Add 2 downloads' }).click();
    const members = [rowOf(page, 'batch-one.bin'), rowOf(page, 'batch-two.bin')];
    await members[1]!.waitFor();
    const batch = page.getByRole('group', { name: 'Whole batch' });
    for (const [button, state] of [
      ['Pause batch', 'paused'],
      ['Resume batch', 'active'],
      ['Cancel batch', 'cancelled'],
      ['Retry failed and cancelled', 'active'],
      ['Cancel batch', 'cancelled'],
    ] as const) {
      await batch.getByRole('button', { name: button }).click();
      for (const member of members) {
        // Resumed and retried members may wait their turn for the worker.
        if (state === 'active') await expect.poll(() => member.getAttribute('data-state'), { timeout: 30_000 }).toMatch(/^(queued|active)$/);
        else await stateIs(member, state);
      }
    }
    await page.close();
    expect(problems).toEqual([]);
    expect(browser.elsewhere).toEqual([]);
  });

  it("shows a delayed download's retry reason, from a download enqueued outside the page", async () => {
    const url = stack.origin.route('/web/busy.bin', status(503, { 'retry-after': '30' }));
    const id = await stack.ferry.enqueue({ url });
    const page = await openPage();
    await signIn(page);
    const row = rowOf(page, 'busy.bin');
    await stateIs(row, 'delayed');
    await expect.poll(text(row.getByTestId('failure')), { timeout: 30_000 }).toContain('Will retry after: FERRY_ERR_ORIGIN_UNAVAILABLE');
    await row.getByRole('button', { name: 'Cancel busy.bin' }).click();
    await stateIs(row, 'cancelled');
    expect((await stack.ferry.status(id)).state).toBe('cancelled');
    await page.close();
    expect(problems).toEqual([]);
    expect(browser.elsewhere).toEqual([]);
  });

  it('serves the page with a strict policy that Swagger UI and Bull Board do not inherit', async () => {
    const page = await fetch(`${stack.ferry.baseUrl}/`);
    const csp = page.headers.get('content-security-policy') ?? '';
    expect(csp).toContain("script-src 'self'");
    expect(csp).not.toContain('unsafe-inline');
    expect(csp).toContain("frame-ancestors 'none'");
    expect(page.headers.get('access-control-allow-origin')).toBeNull();
    const docs = await fetch(`${stack.ferry.baseUrl}/docs/static/index.html`);
    expect(docs.headers.get('content-security-policy') ?? '').not.toContain("form-action 'none'");
    const board = await fetch(`${stack.ferry.baseUrl}/admin/queues`, {
      headers: { authorization: `Basic ${Buffer.from(`admin:${DASHBOARD_PASSWORD}`).toString('base64')}` },
    });
    expect(board.status).toBe(200);
    expect(await board.text()).toContain('<div id="root">');
    expect(board.headers.get('content-security-policy') ?? '').not.toContain("form-action 'none'");
    expect((await fetch(`${stack.ferry.baseUrl}/no-such-page`)).status).toBe(404);
  });
});
