import { setTimeout as sleep } from 'node:timers/promises';
import type { Handler } from './origin.js';

/**
 * Counts the requests an origin is serving at once, by its own clock: a request counts from
 * its arrival until its response is closed (finished, or its connection cut by a dying worker).
 */
export class ConcurrencyGauge {
  #now = 0;
  #max = 0;
  readonly starts: number[] = [];

  get now(): number {
    return this.#now;
  }

  /** The most requests that were in flight at one moment. */
  get max(): number {
    return this.#max;
  }

  count(handler: Handler): Handler {
    return async (req, res) => {
      this.starts.push(Date.now());
      this.#now += 1;
      this.#max = Math.max(this.#max, this.#now);
      res.once('close', () => (this.#now -= 1));
      await handler(req, res);
    };
  }
}

/**
 * `handler`, after holding the request for `ms` before any byte is sent: a slow origin whose
 * client cannot finish before the origin does. (A throttled serveFile sleeps after its last
 * write, when the client may already have every byte and be on to its next request.)
 */
export function slowly(ms: number, handler: Handler): Handler {
  return async (req, res) => {
    await sleep(ms);
    await handler(req, res);
  };
}
