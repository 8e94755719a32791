import { describe, expect, it } from 'vitest';
import { ERROR_CODES, FerryError, ferryErrorOf, isRetryable } from '../src/errors.js';

describe('isRetryable', () => {
  it('follows the code table for FerryErrors', () => {
    expect(isRetryable(new FerryError('FERRY_ERR_TRUNCATED', 'cut'))).toBe(true);
    expect(isRetryable(new FerryError('FERRY_ERR_ORIGIN_REJECTED', '404'))).toBe(false);
    expect(isRetryable(new FerryError('FERRY_ERR_CHECKSUM_MISMATCH', 'bad'))).toBe(false);
  });

  it('retries errors nobody foresaw', () => {
    expect(isRetryable(new TypeError('boom'))).toBe(true);
  });

  it('gives every code an HTTP status', () => {
    for (const { httpStatus } of Object.values(ERROR_CODES)) expect(httpStatus).toBeGreaterThanOrEqual(400);
  });
});

describe('ferryErrorOf', () => {
  const coded = new FerryError('FERRY_ERR_TRUNCATED', 'cut');

  it('finds the FerryError itself or the one a wrapping error was caused by', () => {
    expect(ferryErrorOf(coded)).toBe(coded);
    expect(ferryErrorOf(new Error('FERRY_ERR_TRUNCATED: cut', { cause: coded }))).toBe(coded);
  });

  it('is undefined for uncoded errors and for causes that are not coded', () => {
    expect(ferryErrorOf(new Error('plain'))).toBeUndefined();
    expect(ferryErrorOf(new Error('wrapped', { cause: new TypeError('boom') }))).toBeUndefined();
    expect(ferryErrorOf('a string')).toBeUndefined();
    expect(ferryErrorOf(undefined)).toBeUndefined();
  });
});
