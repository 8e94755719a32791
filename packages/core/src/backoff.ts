import { ferryErrorOf } from '@ferry/contract';

export interface BackoffPolicy {
  /** Delay before the first retry, doubled for each later one. */
  readonly baseMs: number;
  /** Ceiling for the computed delay. */
  readonly maxMs: number;
  /** Ceiling for a delay an origin asks for with Retry-After. */
  readonly retryAfterMaxMs: number;
}

/**
 * Delay before the next attempt, after `attemptsMade` failed ones.
 *
 * "Equal jitter": half the exponential delay is kept and half is random, so the
 * delay still grows with each failure while many jobs failing together spread out.
 * An origin's Retry-After wins over the computed delay (capped), plus up to 10 %
 * so that the jobs it rejected together do not all come back in the same instant.
 */
export function computeBackoffDelay(attemptsMade: number, policy: BackoffPolicy, retryAfterMs: number | undefined, random: () => number = Math.random): number {
  if (retryAfterMs !== undefined) {
    const wanted = Math.min(Math.max(0, retryAfterMs), policy.retryAfterMaxMs);
    return Math.round(Math.min(policy.retryAfterMaxMs, wanted + wanted * 0.1 * random()));
  }
  const exponent = Math.max(0, attemptsMade - 1);
  const ceiling = Math.min(policy.maxMs, policy.baseMs * 2 ** Math.min(exponent, 52));
  return Math.round(ceiling / 2 + (ceiling / 2) * random());
}

/** The Retry-After an origin sent with the error that ended an attempt, if any. */
export function retryAfterOf(err: unknown): number | undefined {
  const value = ferryErrorOf(err)?.data['retryAfterMs'];
  return typeof value === 'number' ? value : undefined;
}
