import { describe, expect, it } from 'vitest';
import { computeBackoffDelay, retryAfterOf } from '../src/backoff.js';
import { FerryError } from '@ferry/contract';

const policy = { baseMs: 1000, maxMs: 60_000, retryAfterMaxMs: 120_000 };

describe('computeBackoffDelay', () => {
  it('doubles the delay with each failed attempt, half of it fixed and half random', () => {
    expect(computeBackoffDelay(1, policy, undefined, () => 0)).toBe(500);
    expect(computeBackoffDelay(1, policy, undefined, () => 1)).toBe(1000);
    expect(computeBackoffDelay(2, policy, undefined, () => 0)).toBe(1000);
    expect(computeBackoffDelay(3, policy, undefined, () => 1)).toBe(4000);
    expect(computeBackoffDelay(4, policy, undefined, () => 0.5)).toBe(6000);
  });

  it('never exceeds the maximum, even after very many attempts', () => {
    expect(computeBackoffDelay(7, policy, undefined, () => 1)).toBe(60_000);
    expect(computeBackoffDelay(10_000, policy, undefined, () => 1)).toBe(60_000);
  });

  it('uses the origin Retry-After instead, with at most 10 % added jitter', () => {
    expect(computeBackoffDelay(1, policy, 2000, () => 0)).toBe(2000);
    expect(computeBackoffDelay(1, policy, 2000, () => 1)).toBe(2200);
    expect(computeBackoffDelay(9, policy, 0, () => 1)).toBe(0);
  });

  it('caps a Retry-After at the configured maximum', () => {
    expect(computeBackoffDelay(1, policy, 3_600_000, () => 1)).toBe(120_000);
  });
});

describe('retryAfterOf', () => {
  const limited = new FerryError('FERRY_ERR_ORIGIN_UNAVAILABLE', '429', { data: { retryAfterMs: 2000 } });

  it('reads the delay from a FerryError or from an error caused by one', () => {
    expect(retryAfterOf(limited)).toBe(2000);
    expect(retryAfterOf(new Error('wrapped', { cause: limited }))).toBe(2000);
  });

  it('is undefined for errors without one', () => {
    expect(retryAfterOf(new Error('plain'))).toBeUndefined();
    expect(retryAfterOf(new FerryError('FERRY_ERR_CONNECT', 'refused'))).toBeUndefined();
    expect(retryAfterOf(undefined)).toBeUndefined();
  });
});
