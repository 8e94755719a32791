import { FerryError } from '@ferry/contract';
import { clientNetwork } from './client-network.js';

// Addresses remembered at once: enough for any real attack, bounded against a flood of spoofed or rotating ones.
const MAX_ADDRESSES = 100_000;

interface Window {
  failures: number;
  readonly endsAt: number;
}

/**
 * Counts wrong credentials of one kind (API keys, or dashboard passwords: each
 * has its own limiter) per client address (an IPv6 client's whole /64, see
 * clientNetwork) in fixed windows. Past the limit, the address is refused with
 * 429; which requests are refused is the caller's choice (see requireApiKey and
 * the dashboard's hook). Kept in this process's memory rather than in Redis: a
 * bad guess costs no round trip, and the limit holds while Redis is down; with
 * N API replicas an address gets N times the limit.
 */
export class AuthFailureLimiter {
  readonly #windows = new Map<string, Window>();

  constructor(private readonly limit: { readonly max: number; readonly windowMs: number }) {}

  /** The 429 for `address` if it is over the limit, else undefined. */
  refusal(address: string, now = Date.now()): FerryError | undefined {
    const window = this.#current(clientNetwork(address), now);
    if (window === undefined || window.failures < this.limit.max) return undefined;
    const retryAfterSeconds = Math.ceil((window.endsAt - now) / 1000);
    return new FerryError(
      'FERRY_ERR_RATE_LIMITED',
      `too many failed authentication attempts from this address (more than ${this.limit.max} in ${this.limit.windowMs / 1000} s); retry in ${retryAfterSeconds} s (see Retry-After)`,
      { data: { retryAfterSeconds } },
    );
  }

  /** Counts one wrong credential from `address`. */
  recordFailure(address: string, now = Date.now()): void {
    const client = clientNetwork(address);
    const window = this.#current(client, now);
    if (window !== undefined) {
      window.failures += 1;
      return;
    }
    if (this.#windows.size >= MAX_ADDRESSES) this.#forgetOldest(now);
    this.#windows.set(client, { failures: 1, endsAt: now + this.limit.windowMs });
  }

  #current(address: string, now: number): Window | undefined {
    const window = this.#windows.get(address);
    if (window === undefined || window.endsAt > now) return window;
    this.#windows.delete(address);
    return undefined;
  }

  // Windows are inserted in time order, so the first ones end first.
  #forgetOldest(now: number): void {
    for (const [address, window] of this.#windows) {
      if (window.endsAt > now && this.#windows.size < MAX_ADDRESSES) return;
      this.#windows.delete(address);
    }
  }
}
