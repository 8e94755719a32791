import { randomUUID } from 'node:crypto';
import type { DownloadContext } from '../../src/engine.js';
import type { Timeouts } from '../../src/timeouts.js';

/** Generous limits: a test that wants one to fire sets its own. */
const TIMEOUTS: Timeouts = { connectMs: 5_000, headersMs: 5_000, bodyIdleMs: 5_000, lowSpeedBytesPerSecond: 0, lowSpeedWindowMs: 10_000 };

/** A first attempt of a new job, as a worker would run it, with what the test gives. */
export function downloadContext(given: Pick<DownloadContext, 'agents' | 'storage' | 'namespace'> & Partial<DownloadContext>): DownloadContext {
  return { jobId: randomUUID(), attempt: 1, signal: new AbortController().signal, timeouts: TIMEOUTS, ...given };
}
