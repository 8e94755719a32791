import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { DownloadRequest } from '../src/schemas.js';

const digest = (algorithm: string, encoding: 'hex' | 'base64' | 'base64url') => createHash(algorithm).update('ferry').digest(encoding);

describe('DownloadRequest checksum', () => {
  it.each(['sha256', 'sha512', 'sha1', 'md5'] as const)(
    'normalises a %s digest given as hex, upper-case hex, base64 or base64url to lower-case hex',
    (algorithm) => {
      const hex = digest(algorithm, 'hex');
      for (const value of [hex, hex.toUpperCase(), digest(algorithm, 'base64'), digest(algorithm, 'base64url')]) {
        const parsed = DownloadRequest.parse({ url: 'https://example.com/a', checksum: { algorithm, value } });
        expect(parsed.checksum).toEqual({ algorithm, value: hex });
      }
    },
  );

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

  it.each(['ftp://example.com/a', 'file:///etc/passwd', 'javascript:alert(1)', 'example.com/a', '', `https://e.com/${'a'.repeat(2048)}`])(
    'refuses %j',
    (url) => {
      expect(DownloadRequest.safeParse({ url }).success).toBe(false);
    },
  );
});

describe('DownloadRequest crossOriginHeaders', () => {
  const headers = { 'X-Api-Key': 'k', 'X-Trace-Id': 't' };

  it("accepts names of the request's own headers, in any case", () => {
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

describe('DownloadRequest headers', () => {
  const issuesOf = (headers: Record<string, string>) => DownloadRequest.safeParse({ url: 'https://example.com/a', headers }).error?.issues ?? [];

  it.each(['\u0000', '\r', '\n', '\u000b', '\u000c', '\u001b', '\u007f', '\u0080', '\u0085', '\u009f'])(
    'refuses a value with the control character %j, naming the header',
    (char) => {
      const issues = issuesOf({ 'X-Token': `secret${char}` });
      expect(issues.map((i) => [i.path, i.message])).toEqual([
        [['headers', 'X-Token'], expect.stringMatching(/^must not contain control characters: found U\+[0-9A-F]{4} at index 6$/)],
      ]);
    },
  );

  it.each(['\u2028', '\u2029', '€', '😀'])('refuses a value with %j, which has no single byte to be sent as', (char) => {
    expect(issuesOf({ 'X-Token': char })[0]?.message).toMatch(/^must not contain characters beyond U\+00FF: found U\+[0-9A-F]{4,5} at index 0;/);
  });

  it('accepts visible ASCII, spaces, tabs and Latin-1 letters', () => {
    expect(issuesOf({ Authorization: 'Bearer abc~!#', 'X-Name': 'Zoë\tand  café ÿ' })).toEqual([]);
  });

  it.each(['X Token', 'X:Token', 'X(Token)', 'Ünicode', ''])('refuses the header name %j, which is not an RFC 9110 token', (name) => {
    // zod reports a bad record key inside an invalid_key issue; the API flattens it (see the validation suite).
    expect(JSON.stringify(issuesOf({ [name]: 'a' }))).toContain('is not a valid header name');
  });
});
