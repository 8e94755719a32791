import { ERROR_CODES, isErrorCode } from '@ferry/contract';
import { abortedError, FerryClientError } from './client-error.js';

/** Consecutive failures `wait` and `events` ride out before giving up: about 15 s with the delays below. */
export const MAX_CONSECUTIVE_FAILURES = 5;
const FIRST_DELAY_MS = 500;
const MAX_DELAY_MS = 8_000;

/** Failures worth another try: no answer at all, or a Ferry code marked retryable (rate limit, Redis down, internal). */
export function isTransient(err: unknown): boolean {
  if (!(err instanceof FerryClientError)) return false;
  return err.code === 'FERRY_CLIENT_ERR_UNREACHABLE' || (isErrorCode(err.code) && ERROR_CODES[err.code].retryable);
}

/**
 * Waits `ms`, or rejects with FERRY_CLIENT_ERR_ABORTED as soon as `signal` fires.
 * A plain timer rather than node:timers/promises, so the client also runs in a browser (the web page uses it).
 */
export function pause(ms: number, signal: AbortSignal | undefined): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(abortedError(signal));
    const onAbort = () => {
      clearTimeout(timer);
      reject(abortedError(signal!));
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

/**
 * Counts consecutive transient failures of a long-running read (an event stream,
 * a polling loop) and backs off between them; any success resets the count.
 */
export class RetryBudget {
  #failures = 0;

  constructor(private readonly signal: AbortSignal | undefined) {}

  succeeded(): void {
    this.#failures = 0;
  }

  /** Rethrows `err` unless it is transient and the budget allows another try; otherwise waits before it. */
  async failed(err: unknown, serverDelayMs?: number): Promise<void> {
    if (this.signal?.aborted) throw abortedError(this.signal);
    this.#failures += 1;
    if (!isTransient(err) || this.#failures > MAX_CONSECUTIVE_FAILURES) throw err;
    await pause(serverDelayMs ?? Math.min(FIRST_DELAY_MS * 2 ** (this.#failures - 1), MAX_DELAY_MS), this.signal);
  }
}
