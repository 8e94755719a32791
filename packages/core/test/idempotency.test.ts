import { describe, expect, it } from 'vitest';
import { DownloadRequest } from '@ferry/contract';
import { requestFingerprints } from '../src/idempotency.js';
import { HeaderSealer } from '../src/secrets/header-sealer.js';

describe('requestFingerprints', () => {
  const sealingKey = (id: string, byte: number) => ({ id, base64: Buffer.alloc(32, byte).toString('base64') });
  const sealer = new HeaderSealer([sealingKey('new', 2), sealingKey('old', 1)]);

  it('ignores field order and the idempotency key, and nothing else', () => {
    const a = DownloadRequest.parse({ url: 'https://example.com/a', filename: 'a.bin', idempotencyKey: 'k1' });
    const b = DownloadRequest.parse({ filename: 'a.bin', url: 'https://example.com/a' });
    const c = DownloadRequest.parse({ url: 'https://example.com/a', filename: 'b.bin' });
    expect(requestFingerprints(a, sealer)).toEqual(requestFingerprints(b, sealer));
    expect(requestFingerprints(a, sealer)[0]).not.toBe(requestFingerprints(c, sealer)[0]);
  });

  it('digests a request with headers with each sealing key, the current one first, so a rotation keeps a retry the same request', () => {
    const request = DownloadRequest.parse({ url: 'https://example.com/a', headers: { Authorization: 'Bearer s' } });
    const [current, previous] = requestFingerprints(request, sealer);
    const [beforeRotation] = requestFingerprints(request, new HeaderSealer([sealingKey('old', 1)]));
    expect(previous).toBe(beforeRotation);
    expect(current).not.toBe(previous);
    const other = DownloadRequest.parse({ url: 'https://example.com/a', headers: { Authorization: 'Bearer t' } });
    expect(requestFingerprints(other, sealer)).not.toContain(current);
  });
});
