import { describe, expect, it } from 'vitest';
import { ConcurrencyGauge, slowly } from '../support/concurrency.js';
import { ORIGIN_HOST, serveFile } from '../support/origin.js';
import { useStack } from '../support/stack.js';

const stack = useStack({ workers: 1, env: { FERRY_HOST_CONCURRENCY: '1', FERRY_LIMIT_WAIT_MS: '50', FERRY_LIMIT_WAIT_MAX_MS: '200' } });

describe('when one host is named in several spellings', () => {
  it('counts an IPv4-mapped IPv6 literal of its address, in either spelling, against its one limit', async () => {
    const { origin, ferry } = stack;
    const gauge = new ConcurrencyGauge();
    const file = await origin.randomFile('spelled.bin', 16 * 1024);
    const url = (i: number) => origin.route(`/spelled/${i}.bin`, gauge.count(slowly(300, serveFile(file))));
    const { host, port } = new URL(origin.baseUrl);
    // The same server as 127.0.0.2:port: a connection to ::ffff:127.0.0.2 reaches 127.0.0.2.
    const spellings = [
      url(0),
      url(1).replace(`//${host}`, `//[::ffff:${ORIGIN_HOST}]:${port}`),
      url(2).replace(`//${host}`, `//[::FFFF:7F00:2]:${port}`),
      url(3),
    ];
    const ids = [];
    for (const spelled of spellings) ids.push(await ferry.enqueue({ url: spelled }));
    for (const id of ids) {
      const done = await ferry.waitFor(id);
      expect(done.state, JSON.stringify(done.error)).toBe('completed');
      expect(done.result?.sha256).toBe(file.sha256);
    }
    expect(gauge.max).toBe(1);
  });
});
