import { describe, expect, it } from 'vitest';
import { embeddedIPv4, formatIPv6, isIPv4Mapped, networkOf, parseIp } from '../../src/egress/ip-address.js';

describe('parseIp', () => {
  it('reads dotted-quad IPv4', () => expect(parseIp('192.168.1.1')).toEqual({ family: 4, bytes: [192, 168, 1, 1], text: '192.168.1.1' }));

  it('gives every spelling of an IPv6 address the same canonical text', () => {
    for (const spelled of ['::ffff:127.0.0.1', '::FFFF:7F00:1', '0:0:0:0:0:ffff:7f00:0001', '[::ffff:127.0.0.1]', '0000::ffff:127.0.0.1']) {
      expect(parseIp(spelled)?.text, spelled).toBe('::ffff:7f00:1');
    }
  });

  it('drops a zone index, which does not change the network', () => expect(parseIp('fe80::1%eth0')?.text).toBe('fe80::1'));

  it('refuses anything that is not an address', () => {
    for (const text of ['', 'localhost', '127.1', '0x7f.0.0.1', '1.2.3.4.5', '::ffff:1.2.3', '[::1', '12345::']) expect(parseIp(text), text).toBeUndefined();
  });

  // ipaddr.js reads both, the first as ::ffff:177.0.0.1 although it reads 0177.0.0.1 alone as 127.0.0.1.
  it('refuses an IPv4 tail in octal or hex, which parsers disagree on', () => {
    for (const text of ['::ffff:0177.0.0.1', '::ffff:0x7f.0.0.1']) expect(parseIp(text), text).toBeUndefined();
  });
});

describe('formatIPv6', () => {
  it('compresses the longest run of zero groups, the first of equals', () => {
    expect(formatIPv6([0x2001, 0xdb8, 0, 0, 1, 0, 0, 1])).toBe('2001:db8::1:0:0:1');
    expect(formatIPv6([0x2001, 0, 0, 1, 0, 0, 0, 1])).toBe('2001:0:0:1::1');
    expect(formatIPv6([0, 0, 0, 0, 0, 0, 0, 0])).toBe('::');
    expect(formatIPv6([0, 0, 0, 0, 0, 0, 0, 1])).toBe('::1');
    expect(formatIPv6([0xfe80, 0, 0, 0, 0, 0, 0, 0])).toBe('fe80::');
  });

  it('leaves a single zero group uncompressed', () => expect(formatIPv6([0x2001, 0xdb8, 0, 1, 1, 1, 1, 1])).toBe('2001:db8:0:1:1:1:1:1'));
});

describe('IPv4 inside IPv6', () => {
  it('recognises the mapped form and reads the address it carries', () => {
    const mapped = parseIp('::ffff:a9fe:a9fe');
    expect(mapped !== undefined && isIPv4Mapped(mapped)).toBe(true);
    if (mapped?.family === 6) expect(embeddedIPv4(mapped).text).toBe('169.254.169.254');
  });

  it('does not take the compatible or translated forms for mapped', () => {
    // ipaddr.js rewrites ::a.b.c.d to ::ffff:a.b.c.d, which would let ::8.8.8.8 through as 8.8.8.8.
    for (const text of ['::7f00:1', '::127.0.0.1', '::ffff:0:7f00:1', '127.0.0.1']) {
      const address = parseIp(text);
      expect(address !== undefined && isIPv4Mapped(address), text).toBe(false);
    }
  });
});

describe('networkOf', () => {
  it('clears every bit after the prefix', () => {
    expect(networkOf(parseIp('10.1.2.3')!, 8).text).toBe('10.0.0.0');
    expect(networkOf(parseIp('172.31.255.255')!, 12).text).toBe('172.16.0.0');
    expect(networkOf(parseIp('10.1.2.3')!, 32).text).toBe('10.1.2.3');
    expect(networkOf(parseIp('10.1.2.3')!, 0).text).toBe('0.0.0.0');
    expect(networkOf(parseIp('fd12:3456::1')!, 8).text).toBe('fd00::');
    expect(networkOf(parseIp('2001:db8:ffff::1')!, 33).text).toBe('2001:db8:8000::');
  });
});
