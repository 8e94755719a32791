import { describe, expect, it } from 'vitest';
import { FerryError } from '@ferry/contract';
import { classifyAddress, EgressPolicy, parseCidr, type AddressCategory } from '../../src/egress/address-policy.js';

const PUBLIC: readonly string[] = [
  '8.8.8.8',
  '1.1.1.1',
  '9.9.9.9',
  '93.184.215.14',
  '1.0.0.0',
  '9.255.255.255', // just below 10/8
  '11.0.0.0', // just above 10/8
  '100.63.255.255', // just below 100.64/10
  '100.128.0.0', // just above it
  '126.255.255.255',
  '128.0.0.0',
  '169.253.255.255',
  '169.255.0.0',
  '172.15.255.255',
  '172.32.0.0',
  '192.0.1.255',
  '192.0.3.0',
  '192.88.98.255',
  '192.88.100.0',
  '192.167.255.255',
  '192.169.0.0',
  '198.17.255.255',
  '198.20.0.0',
  '198.51.99.255',
  '198.51.101.0',
  '203.0.112.255',
  '203.0.114.0',
  '223.255.255.255', // just below multicast
  '168.63.129.17', // beside Azure's WireServer
  '2606:4700:4700::1111',
  '2001:4860:4860::8888',
  '2a00:1450:4001:80b::200e',
  '2001:200::1', // just above 2001::/23
  '2001:db7:ffff::1', // just below 2001:db8::/32
  '2001:db9::1', // just above it
  '2003::1', // just above 6to4
  '3fff:1000::1', // just above 3fff::/20
  '::ffff:8.8.8.8', // IPv4-mapped public: a dual-stack socket reaches 8.8.8.8
  '::ffff:808:808',
];

const DENIED: readonly (readonly [string, AddressCategory])[] = [
  ['0.0.0.0', 'unspecified'],
  ['0.1.2.3', 'unspecified'],
  ['0.255.255.255', 'unspecified'],
  ['10.0.0.0', 'private'],
  ['10.0.0.1', 'private'],
  ['10.255.255.255', 'private'],
  ['172.16.0.0', 'private'],
  ['172.20.1.1', 'private'],
  ['172.31.255.255', 'private'],
  ['192.168.0.0', 'private'],
  ['192.168.1.1', 'private'],
  ['192.168.255.255', 'private'],
  ['100.64.0.0', 'cgnat'],
  ['100.127.255.255', 'cgnat'],
  ['127.0.0.0', 'loopback'],
  ['127.0.0.1', 'loopback'],
  ['127.255.255.255', 'loopback'],
  ['169.254.0.0', 'link-local'],
  ['169.254.169.253', 'link-local'],
  ['169.254.255.255', 'link-local'],
  ['169.254.169.254', 'metadata'],
  ['169.254.170.2', 'metadata'],
  ['169.254.170.23', 'metadata'],
  ['100.100.100.200', 'metadata'],
  ['168.63.129.16', 'metadata'],
  ['192.0.0.0', 'ietf-protocol'],
  ['192.0.0.9', 'ietf-protocol'],
  ['192.0.0.255', 'ietf-protocol'],
  ['192.0.2.0', 'documentation'],
  ['192.0.2.255', 'documentation'],
  ['198.51.100.0', 'documentation'],
  ['198.51.100.255', 'documentation'],
  ['203.0.113.0', 'documentation'],
  ['203.0.113.255', 'documentation'],
  ['192.88.99.0', '6to4'],
  ['192.88.99.255', '6to4'],
  ['198.18.0.0', 'benchmarking'],
  ['198.19.255.255', 'benchmarking'],
  ['224.0.0.0', 'multicast'],
  ['224.0.0.1', 'multicast'],
  ['239.255.255.255', 'multicast'],
  ['240.0.0.0', 'reserved'],
  ['254.255.255.255', 'reserved'],
  ['255.255.255.254', 'reserved'],
  ['255.255.255.255', 'broadcast'],
  ['::', 'unspecified'],
  ['0:0:0:0:0:0:0:0', 'unspecified'],
  ['::1', 'loopback'],
  ['0:0:0:0:0:0:0:1', 'loopback'],
  ['[::1]', 'loopback'],
  ['::ffff:127.0.0.1', 'loopback'],
  ['::ffff:7f00:1', 'loopback'],
  ['::FFFF:7F00:1', 'loopback'],
  ['0:0:0:0:0:ffff:7f00:0001', 'loopback'],
  ['0000:0000:0000:0000:0000:ffff:127.0.0.1', 'loopback'],
  ['[::ffff:127.0.0.1]', 'loopback'],
  ['::ffff:127.255.0.9', 'loopback'],
  ['::ffff:10.0.0.1', 'private'],
  ['::ffff:c0a8:101', 'private'],
  ['::ffff:172.16.0.1', 'private'],
  ['::ffff:100.64.0.1', 'cgnat'],
  ['::ffff:169.254.169.254', 'metadata'],
  ['::ffff:a9fe:a9fe', 'metadata'],
  ['::ffff:0.0.0.0', 'unspecified'],
  ['::ffff:255.255.255.255', 'broadcast'],
  ['::127.0.0.1', 'ipv4-compatible'],
  ['::7f00:1', 'ipv4-compatible'],
  ['::8.8.8.8', 'ipv4-compatible'],
  ['::2', 'ipv4-compatible'],
  ['::ffff:0:7f00:1', 'ipv4-translated'],
  ['64:ff9b::7f00:1', 'nat64'],
  ['64:ff9b::127.0.0.1', 'nat64'],
  ['64:ff9b::8.8.8.8', 'nat64'],
  ['64:ff9b:1::a00:1', 'nat64'],
  ['64:ff9b:1:ffff::1', 'nat64'],
  ['100::1', 'discard-only'],
  ['2001::1', 'teredo'],
  ['2001:0:4136:e378:8000:63bf:3fff:fdd2', 'teredo'],
  ['2001:0:ffff:ffff:ffff:ffff:ffff:ffff', 'teredo'],
  ['2001:1::1', 'ietf-protocol'],
  ['2001:1ff:ffff::1', 'ietf-protocol'],
  ['2001:2::1', 'benchmarking'],
  ['2001:db8::1', 'documentation'],
  ['2001:db8:ffff:ffff:ffff:ffff:ffff:ffff', 'documentation'],
  ['3fff::1', 'documentation'],
  ['3fff:fff:ffff::1', 'documentation'],
  ['2002::1', '6to4'],
  ['2002:7f00:1::1', '6to4'],
  ['2002:ffff:ffff::1', '6to4'],
  ['fc00::1', 'private'],
  ['fd00::1', 'private'],
  ['fdff:ffff:ffff:ffff:ffff:ffff:ffff:ffff', 'private'],
  ['fd00:ec2::254', 'metadata'],
  ['fd00:ec2::23', 'metadata'],
  ['fe80::1', 'link-local'],
  ['fe80::1%eth0', 'link-local'],
  ['febf:ffff::1', 'link-local'],
  ['fec0::1', 'site-local'],
  ['ff02::1', 'multicast'],
  ['ff0e::1', 'multicast'],
  ['ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff', 'multicast'],
  ['1::1', 'reserved'],
  ['4000::1', 'reserved'],
  ['5f00::1', 'reserved'],
  ['e000::1', 'reserved'],
  ['example.com', 'invalid'],
  ['', 'invalid'],
  ['127.1', 'invalid'], // lenient spellings are the URL parser's to normalise, never a resolver answer
  ['0177.0.0.1', 'invalid'],
  ['1.2.3.4.5', 'invalid'],
  ['gggg::1', 'invalid'],
];

describe('classifyAddress', () => {
  it('covers a table of at least 80 addresses', () => expect(PUBLIC.length + DENIED.length).toBeGreaterThanOrEqual(80));

  it.each(PUBLIC)('allows the public address %s', (ip) => expect(classifyAddress(ip)).toEqual({ allowed: true }));

  it.each(DENIED)('refuses %s as %s', (ip, reason) => expect(classifyAddress(ip)).toEqual({ allowed: false, reason }));
});

describe('EgressPolicy', () => {
  describe('with no operator exceptions', () => {
    const policy = new EgressPolicy();

    it('judges addresses exactly as classifyAddress does', () => {
      for (const ip of PUBLIC) expect(policy.checkAddress(ip)).toEqual({ allowed: true });
      for (const [ip, reason] of DENIED) expect(policy.checkAddress(ip)).toEqual({ allowed: false, reason });
    });

    it('allows ports 80 and 443 only', () => {
      expect(policy.allowsPort(80)).toBe(true);
      expect(policy.allowsPort(443)).toBe(true);
      for (const port of [1, 22, 8080, 8443, 6379, 65535]) expect(policy.allowsPort(port)).toBe(false);
    });

    it('allows no host by name', () => expect(policy.allowsHost('localhost')).toBe(false));
  });

  describe('when the operator allows 127.0.0.0/8 and ::1/128', () => {
    const policy = new EgressPolicy({ allowCidrs: ['127.0.0.0/8', '::1/128'] });

    it('allows loopback in IPv4, IPv6 and IPv4-mapped spellings', () => {
      for (const ip of ['127.0.0.1', '127.0.0.0', '127.255.255.255', '::1', '0:0:0:0:0:0:0:1', '::ffff:127.0.0.1', '::ffff:7f00:2']) {
        expect(policy.checkAddress(ip), ip).toEqual({ allowed: true });
      }
    });

    it('still refuses everything else that is not public', () => {
      expect(policy.checkAddress('10.0.0.1')).toEqual({ allowed: false, reason: 'private' });
      expect(policy.checkAddress('169.254.169.254')).toEqual({ allowed: false, reason: 'metadata' });
      expect(policy.checkAddress('::2')).toEqual({ allowed: false, reason: 'ipv4-compatible' });
      expect(policy.checkAddress('0.0.0.0')).toEqual({ allowed: false, reason: 'unspecified' });
    });

    it('does not extend to loopback wrapped in NAT64, 6to4 or the compatible form', () => {
      expect(policy.checkAddress('64:ff9b::7f00:1')).toEqual({ allowed: false, reason: 'nat64' });
      expect(policy.checkAddress('2002:7f00:1::')).toEqual({ allowed: false, reason: '6to4' });
      expect(policy.checkAddress('::127.0.0.1')).toEqual({ allowed: false, reason: 'ipv4-compatible' });
    });
  });

  describe('when the operator allows a single address or a metadata address', () => {
    it('allows exactly that address', () => {
      const policy = new EgressPolicy({ allowCidrs: ['127.0.0.2', '169.254.169.254/32', 'fd00:ec2::254/128'] });
      expect(policy.checkAddress('127.0.0.2')).toEqual({ allowed: true });
      expect(policy.checkAddress('127.0.0.1')).toEqual({ allowed: false, reason: 'loopback' });
      expect(policy.checkAddress('169.254.169.254')).toEqual({ allowed: true });
      expect(policy.checkAddress('fd00:ec2::254')).toEqual({ allowed: true });
      expect(policy.checkAddress('fd00:ec2::253')).toEqual({ allowed: false, reason: 'private' });
    });
  });

  describe('when the operator allows an IPv6 network', () => {
    it('allows the network and nothing beside it', () => {
      const policy = new EgressPolicy({ allowCidrs: ['fd00:1234::/32'] });
      expect(policy.checkAddress('fd00:1234:ffff::1')).toEqual({ allowed: true });
      expect(policy.checkAddress('fd00:1235::1')).toEqual({ allowed: false, reason: 'private' });
      expect(policy.checkAddress('10.0.0.1')).toEqual({ allowed: false, reason: 'private' });
    });
  });

  describe('when the operator allows host names', () => {
    const policy = new EgressPolicy({ allowHosts: ['Files.Example.Internal.'] });

    it('matches them case-insensitively, with or without a trailing dot', () => {
      expect(policy.allowsHost('files.example.internal')).toBe(true);
      expect(policy.allowsHost('FILES.EXAMPLE.INTERNAL.')).toBe(true);
    });

    it('matches exact names only', () => {
      expect(policy.allowsHost('sub.files.example.internal')).toBe(false);
      expect(policy.allowsHost('example.internal')).toBe(false);
      expect(policy.allowsHost('files.example.internal.evil.com')).toBe(false);
    });
  });

  describe('when the operator allows ports', () => {
    const policy = new EgressPolicy({ allowPorts: [8080, { from: 9000, to: 9010 }] });

    it('allows those ports and ranges besides 80 and 443', () => {
      for (const port of [80, 443, 8080, 9000, 9005, 9010]) expect(policy.allowsPort(port), String(port)).toBe(true);
      for (const port of [8081, 8999, 9011, 6379]) expect(policy.allowsPort(port), String(port)).toBe(false);
    });

    it('refuses a port that cannot exist', () => {
      expect(() => new EgressPolicy({ allowPorts: [0] })).toThrow(FerryError);
      expect(() => new EgressPolicy({ allowPorts: [{ from: 10, to: 5 }] })).toThrow(/ports are whole numbers from 1 to 65535/);
    });
  });

  it('cannot be changed once built', () => {
    const policy = new EgressPolicy();
    expect(Object.isFrozen(policy)).toBe(true);
  });
});

describe('parseCidr', () => {
  it('reads IPv4 and IPv6 networks and bare addresses', () => {
    expect(parseCidr('10.0.0.0/8')).toMatchObject({ address: { family: 4, text: '10.0.0.0' }, prefix: 8 });
    expect(parseCidr(' fd00::/8 ')).toMatchObject({ address: { family: 6, text: 'fd00::' }, prefix: 8 });
    expect(parseCidr('127.0.0.1')).toMatchObject({ prefix: 32 });
    expect(parseCidr('::1')).toMatchObject({ prefix: 128 });
    expect(parseCidr('0.0.0.0/0')).toMatchObject({ prefix: 0 });
  });

  const refusals: readonly (readonly [string, RegExp])[] = [
    ['10.0.0.0/33', /prefix is a whole number from 0 to 32/],
    ['fd00::/129', /prefix is a whole number from 0 to 128/],
    ['10.0.0.0/-1', /invalid prefix length/],
    ['10.0.0.0/abc', /invalid prefix length/],
    ['10.0.0.0/', /invalid prefix length/],
    ['10.0.0.1/8', /did you mean 10\.0\.0\.0\/8\? \(for one address, write 10\.0\.0\.1\/32\)/],
    ['192.168.1.1/16', /did you mean 192\.168\.0\.0\/16\?/],
    ['fd00::1/8', /did you mean fd00::\/8\?/],
    ['[::1]/128', /without them/],
    ['fe80::1%eth0/128', /zone/],
    ['10.0.0/24', /does not start with an IP address; write networks as address\/prefix, e\.g\. 10\.0\.0\.0\/8/],
    ['localhost/8', /does not start with an IP address/],
    ['10.0.0.0/8/9', /more than one "\/"/],
  ];

  it.each(refusals)('refuses %s and says how to write it', (text, message) => {
    const error = (() => {
      try {
        parseCidr(text);
      } catch (err) {
        return err;
      }
      return undefined;
    })();
    expect(error).toBeInstanceOf(FerryError);
    expect((error as FerryError).code).toBe('FERRY_ERR_CONFIG');
    expect((error as FerryError).message).toMatch(message);
  });

  it('makes EgressPolicy refuse a bad CIDR when it is built', () => {
    expect(() => new EgressPolicy({ allowCidrs: ['10.0.0.1/8'] })).toThrow(/did you mean 10\.0\.0\.0\/8/);
  });
});
