/** Which limit a download waited for: its host's (concurrency, cooldown or rate) or its API key's. */
export type LimitKind = 'host' | 'key';

/** What the fleet limits tell whoever counts them (the metrics); every method defaults to doing nothing. */
export interface LimitsObserver {
  /** A download was sent back to wait, without spending an attempt, because `kind`'s limit was reached. */
  waited(kind: LimitKind): void;
  /** An origin's answer (`status`: 429 or 503) with Retry-After closed its host to that key's downloads on every worker for `seconds`. */
  cooledDown(status: number, seconds: number): void;
}

export const NO_LIMITS_OBSERVER: LimitsObserver = Object.freeze({
  waited: () => undefined,
  cooledDown: () => undefined,
});
