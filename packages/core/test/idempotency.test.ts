import { describe, expect, it } from 'vitest';
import { DownloadRequest } from '@ferry/contract';
import { requestFingerprint } from '../src/idempotency.js';

describe('requestFingerprint', () => {
  it('ignores field order and the idempotency key, and nothing else', () => {
    const a = DownloadRequest.parse({ url: 'https://example.com/a', filename: 'a.bin', idempotencyKey: 'k1' });
    const b = DownloadRequest.parse({ filename: 'a.bin', url: 'https://example.com/a' });
    const c = DownloadRequest.parse({ url: 'https://example.com/a', filename: 'b.bin' });
    expect(requestFingerprint(a)).toBe(requestFingerprint(b));
    expect(requestFingerprint(a)).not.toBe(requestFingerprint(c));
  });
});
