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

  it("drops a Redis URL's password", () => {
    expect(redactUrlsIn('Redis redis://:s3cret@redis.internal:6379/0 and rediss://ferry:pw@r.example:6380')).toBe(
      'Redis redis://[redacted]@redis.internal:6379/0 and rediss://[redacted]@r.example:6380',
    );
    expect(redactUrlsIn('redis://127.0.0.1:6379')).toBe('redis://127.0.0.1:6379');
  });
});
