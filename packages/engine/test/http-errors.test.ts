import { describe, expect, it } from 'vitest';
import { isRetryableStatus, statusError } from '../src/http-status.js';
import { parseRetryAfter } from '../src/retry-after.js';
import { toFerryError } from '../src/to-ferry-error.js';

describe('isRetryableStatus', () => {
  it.each([408, 425, 429, 500, 502, 503, 504, 599])('retries %i', (status) => expect(isRetryableStatus(status)).toBe(true));
  it.each([400, 401, 403, 404, 410, 416, 451, 501, 505])('does not retry %i', (status) => expect(isRetryableStatus(status)).toBe(false));
});

describe('parseRetryAfter', () => {
  const now = Date.parse('2026-11-21T12:00:00Z');

  it('reads delay-seconds', () => expect(parseRetryAfter('120', now)).toBe(120_000));
  it('reads an HTTP-date', () => expect(parseRetryAfter('Sat, 21 Nov 2026 12:00:30 GMT', now)).toBe(30_000));
  it('reads a date in the past as no delay', () => expect(parseRetryAfter('Sat, 21 Nov 2026 11:00:00 GMT', now)).toBe(0));
  it('ignores nonsense and absence', () => {
    expect(parseRetryAfter('soon', now)).toBeUndefined();
    expect(parseRetryAfter('-5', now)).toBeUndefined();
    expect(parseRetryAfter(undefined, now)).toBeUndefined();
  });
});

describe('the message of a failed attempt', () => {
  // The engine cannot know whether an attempt was the last one; a promise of another would be false on the last.
  const causes = ['ENOSPC', 'EDQUOT', 'EACCES', 'ECONNRESET', 'ECONNREFUSED', 'UND_ERR_BODY_TIMEOUT', 'UND_ERR_SOCKET', 'SOMETHING_ELSE'];
  const phases = ['request', 'body', 'storage'] as const;

  it('promises no retry, whatever the cause', () => {
    for (const code of causes) {
      for (const phase of phases) {
        const err = toFerryError(Object.assign(new Error('boom'), { code }), phase, 'http://origin.test/file', new AbortController().signal);
        expect(err.message, `${code} in ${phase}`).not.toMatch(/retr|again|later/i);
      }
    }
    for (const status of [408, 429, 500, 503, 404]) expect(statusError(status, 'http://origin.test/file', 1000).message).not.toMatch(/retr|again|later/i);
  });
});
