import { describe, expect, it } from 'vitest';
import { clientNetwork } from '../src/client-network.js';

describe('clientNetwork', () => {
  it('counts every address of one IPv6 /64 as one client, however it is spelled', () => {
    expect(clientNetwork('2001:db8:1:2::1')).toBe(clientNetwork('2001:db8:1:2:ffff:ffff:ffff:fffe'));
    expect(clientNetwork('2001:DB8:1:2:0:0:0:9')).toBe('2001:db8:1:2::/64');
    expect(clientNetwork('2001:db8:1:3::1')).not.toBe(clientNetwork('2001:db8:1:2::1'));
  });

  it('keeps IPv4 addresses apart, also when mapped into IPv6', () => {
    expect(clientNetwork('192.0.2.7')).toBe('192.0.2.7');
    expect(clientNetwork('::ffff:192.0.2.7')).toBe('192.0.2.7');
    expect(clientNetwork('192.0.2.8')).not.toBe(clientNetwork('192.0.2.7'));
  });
});
