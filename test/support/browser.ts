import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { chromium, type BrowserContext } from 'playwright-core';

export const CHROMIUM = '/usr/bin/chromium';
const ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

export interface TestBrowser {
  readonly context: BrowserContext;
  /** Every request the pages sent to a host other than `allowedOrigin`; each was aborted. */
  readonly elsewhere: string[];
  close(): Promise<void>;
}

/**
 * Debian's Chromium with a fresh profile, whose every request is routed through the test:
 * one to any origin but `allowedOrigin` is aborted and recorded, so a test can fail on it.
 */
export async function openBrowser(allowedOrigin: string): Promise<TestBrowser> {
  const profile = await mkdtemp(path.join(os.tmpdir(), 'ferry-chromium-'));
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    args: ARGS,
    acceptDownloads: true,
    viewport: { width: 1100, height: 900 },
  });
  const elsewhere: string[] = [];
  await context.route('**/*', async (route) => {
    const url = route.request().url();
    if (new URL(url).origin === allowedOrigin || url.startsWith('blob:')) return route.continue();
    elsewhere.push(url);
    return route.abort('blockedbyclient');
  });
  return {
    context,
    elsewhere,
    async close() {
      await context.close();
      await rm(profile, { recursive: true, force: true });
    },
  };
}

/** Types for the axe-core run in the page. */
export interface AxeViolation {
  readonly id: string;
  readonly impact: string | null;
  readonly help: string;
  readonly nodes: ReadonlyArray<{ readonly target: readonly string[] }>;
}
