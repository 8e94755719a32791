import { describe, expect, it } from 'vitest';
import { redactUrlsIn, redactUserinfo } from '../src/redact-url.js';

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

  it("drops a Redis URL's user and password, as REDIS_URL and FERRY_REDIS_CLUSTER_NODES carry them", () => {
    expect(redactUrlsIn('connecting to rediss://ferry:s3cret@redis.internal:6380/2 and redis://:pw@10.0.0.1:7000')).toBe(
      'connecting to rediss://[redacted]@redis.internal:6380/2 and redis://[redacted]@10.0.0.1:7000',
    );
    expect(redactUrlsIn('redis://127.0.0.1:6379')).toBe('redis://127.0.0.1:6379');
  });
});

describe('redactUserinfo', () => {
  it('drops the user and password of any scheme, even from text that is not a valid URL', () => {
    expect(redactUserinfo('valkey://app:s3cret@10.0.0.1:7000, http://u:p@[bad')).toBe('valkey://[redacted]@10.0.0.1:7000, http://[redacted]@[bad');
    expect(redactUserinfo('redis://10.0.0.1:7000/0?x=1')).toBe('redis://10.0.0.1:7000/0?x=1');
  });
});
