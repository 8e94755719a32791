import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { requestFingerprint } from '../src/idempotency.js';
import { DownloadRequest } from '../src/schemas.js';

const digest = (algorithm: string, encoding: 'hex' | 'base64' | 'base64url') => createHash(algorithm).update('ferry').digest(encoding);

describe('DownloadRequest checksum', () => {
  it.each(['sha256', 'sha512', 'sha1', 'md5'] as const)('normalises a %s digest given as hex, upper-case hex, base64 or base64url to lower-case hex', (algorithm) => {
    const hex = digest(algorithm, 'hex');
    for (const value of [hex, hex.toUpperCase(), digest(algorithm, 'base64'), digest(algorithm, 'base64url')]) {
      const parsed = DownloadRequest.parse({ url: 'https://example.com/a', checksum: { algorithm, value } });
      expect(parsed.checksum).toEqual({ algorithm, value: hex });
    }
  });

  it('refuses a digest of another algorithm length', () => {
    const result = DownloadRequest.safeParse({ url: 'https://example.com/a', checksum: { algorithm: 'sha1', value: digest('sha256', 'hex') } });
    expect(result.success).toBe(false);
    expect(result.error?.issues[0]?.path).toEqual(['checksum', 'value']);
  });

  it('parses its own output again, as the worker re-parses job data', () => {
    const once = DownloadRequest.parse({ url: 'https://example.com/a', checksum: { algorithm: 'md5', value: digest('md5', 'base64') } });
    expect(DownloadRequest.parse(once)).toEqual(once);
  });
});

describe('DownloadRequest url', () => {
  it.each(['http://example.com/a', 'https://example.com/a?b=c#d', 'http://127.0.0.1:8080/x', 'http://[::1]/x'])('accepts %s', (url) => {
    expect(DownloadRequest.safeParse({ url }).success).toBe(true);
  });

  it.each(['ftp://example.com/a', 'file:///etc/passwd', 'javascript:alert(1)', 'example.com/a', '', `https://e.com/${'a'.repeat(2048)}`])('refuses %j', (url) => {
    expect(DownloadRequest.safeParse({ url }).success).toBe(false);
  });
});

describe('DownloadRequest crossOriginHeaders', () => {
  const headers = { 'X-Api-Key': 'k', 'X-Trace-Id': 't' };

  it('accepts names of the request\'s own headers, in any case', () => {
    const parsed = DownloadRequest.parse({ url: 'https://example.com/a', headers, crossOriginHeaders: ['x-trace-id'] });
    expect(parsed.crossOriginHeaders).toEqual(['x-trace-id']);
  });

  it('refuses a name that is not among the headers, at its own index', () => {
    const result = DownloadRequest.safeParse({ url: 'https://example.com/a', headers, crossOriginHeaders: ['X-Trace-Id', 'Private-Token'] });
    expect(result.success).toBe(false);
    expect(result.error?.issues.map((issue) => issue.path)).toEqual([['crossOriginHeaders', 1]]);
  });

  it('refuses names when the request has no headers', () => {
    expect(DownloadRequest.safeParse({ url: 'https://example.com/a', crossOriginHeaders: ['X-Trace-Id'] }).success).toBe(false);
  });
});

describe('requestFingerprint', () => {
  it('ignores field order and the idempotency key, and nothing else', () => {
    const a = DownloadRequest.parse({ url: 'https://example.com/a', filename: 'a.bin', idempotencyKey: 'k1' });
    const b = DownloadRequest.parse({ filename: 'a.bin', url: 'https://example.com/a' });
    const c = DownloadRequest.parse({ url: 'https://example.com/a', filename: 'b.bin' });
    expect(requestFingerprint(a)).toBe(requestFingerprint(b));
    expect(requestFingerprint(a)).not.toBe(requestFingerprint(c));
  });
});
