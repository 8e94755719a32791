import { describe, expect, it } from 'vitest';
import { FerryError } from '@ferry/contract';
import { parseCidrList, parseHostList, parsePortList } from '../src/egress-config.js';

function messageOf(run: () => unknown): string {
  try {
    run();
  } catch (err) {
    expect(err).toBeInstanceOf(FerryError);
    expect((err as FerryError).code).toBe('FERRY_ERR_CONFIG');
    return (err as FerryError).message;
  }
  throw new Error('expected a FERRY_ERR_CONFIG');
}

describe('parseCidrList', () => {
  it('writes each network in canonical form', () => expect(parseCidrList('FD00::/8,0.0.0.0/0')).toEqual(['fd00::/8', '0.0.0.0/0']));
  it('names the bad entry', () =>
    expect(messageOf(() => parseCidrList('10.0.0.0/8, 300.0.0.0/8'))).toMatch(/"300\.0\.0\.0\/8" does not start with an IP address/));
});

describe('parseHostList', () => {
  it('stores names as the URL parser spells them', () => expect(parseHostList('BÜCHER.example')).toEqual(['xn--bcher-kva.example']));

  it.each([
    ['http://files.example', /leave out the scheme, port, path and wildcards/],
    ['files.example:8080', /leave out the scheme/],
    ['files.example/path', /leave out the scheme/],
    ['*.example', /wildcards/],
    ['user@files.example', /leave out/],
    ['127.0.0.1', /is an IP address; list addresses in FERRY_EGRESS_ALLOW_CIDRS instead, e\.g\. 127\.0\.0\.1\/32/],
    ['::1', /is an IP address/],
    ['2130706433', /is read as the IP address 127\.0\.0\.1/],
    ['0x7f.1', /is read as the IP address 127\.0\.0\.1/],
    ['exa%mple', /is not a valid host name/],
  ])('refuses %s', (entry, message) => expect(messageOf(() => parseHostList(entry))).toMatch(message));
});

describe('parsePortList', () => {
  it('reads single ports and ranges', () => expect(parsePortList('8080, 3000 - 3005, 7-7')).toEqual([8080, { from: 3000, to: 3005 }, 7]));

  it.each(['0', '65536', '9-8', 'http', '80a', '1-70000', '-5'])('refuses %s', (entry) => {
    expect(messageOf(() => parsePortList(entry))).toMatch(/ports \(1-65535\) or ranges such as 8000-8999/);
  });
});
