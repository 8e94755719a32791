import { describe, expect, it } from 'vitest';
import { redactUrlsIn } from '../src/redact-url.js';

describe('redactUrlsIn', () => {
  it('leaves a URL that holds no credential exactly as written, so readers of a log line get the address it logged', () => {
    for (const text of ['http://127.0.0.1:3000', 'listening on http://[::1]:8080 now', 'https://example.com/a/b.csv', 'https://Example.COM:443/x']) {
      expect(redactUrlsIn(text)).toBe(text);
    }
  });

  it('drops userinfo, query values and the fragment', () => {
    expect(redactUrlsIn('fetching https://user:pw@host.example/f.bin?X-Amz-Signature=s3cret&part=2#frag ok')).toBe(
      'fetching https://[redacted]@host.example/f.bin?X-Amz-Signature=[redacted]&part=[redacted]#[redacted] ok',
    );
  });
});
