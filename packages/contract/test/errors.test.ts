import { describe, expect, it } from 'vitest';
import { ERROR_CODES, FerryError, isRetryable } from '../src/errors.js';

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
