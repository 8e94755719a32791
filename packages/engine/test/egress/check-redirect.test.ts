import { describe, expect, it } from 'vitest';
import { FerryError } from '@ferry/contract';
import { EgressPolicy } from '../../src/egress/address-policy.js';
import { checkRedirect } from '../../src/egress/check-redirect.js';

function reasonOf(from: string, location: string, policy = new EgressPolicy()): unknown {
  try {
    checkRedirect(new URL(from), new URL(location, from), policy, location);
  } catch (err) {
    expect(err).toBeInstanceOf(FerryError);
    expect((err as FerryError).code).toBe('FERRY_ERR_BLOCKED_DESTINATION');
    return (err as FerryError).data.reason;
  }
  return undefined;
}

describe('checkRedirect', () => {
  describe('when a redirect stays on public https', () => {
    it('follows absolute and relative locations', () => {
      expect(reasonOf('https://example.com/a', 'https://cdn.example.net/file.zip')).toBeUndefined();
      expect(reasonOf('https://example.com/a', '/b/file.zip')).toBeUndefined();
      expect(reasonOf('https://example.com/a', '//cdn.example.net/file.zip')).toBeUndefined();
      expect(reasonOf('http://example.com/a', 'https://example.com/a')).toBeUndefined();
    });
  });

  describe('when a redirect drops TLS', () => {
    it('refuses it, even to the same host', () => {
      expect(reasonOf('https://example.com/a', 'http://example.com/a')).toBe('downgrade');
      expect(reasonOf('https://example.com/a', 'HTTP://example.com:443/a')).toBe('downgrade');
    });
  });

  describe('when a redirect points somewhere checkUrl refuses', () => {
    it.each([
      ['http://127.0.0.1/', 'loopback'],
      ['http://[::ffff:169.254.169.254]/', 'metadata'],
      ['http://2130706433/', 'loopback'],
      ['gopher://example.com/', 'scheme'],
      ['http://user@example.com/', 'userinfo'],
      ['http://example.com:6379/', 'port'],
      ['http://127.0.0.1\t/', 'control-character'],
      ['http://localhost/', 'loopback'],
    ])('refuses %s as %s', (location, reason) => expect(reasonOf('http://example.com/', location)).toBe(reason));
  });

  describe('when the operator allows the target network', () => {
    it('follows the redirect but still refuses a downgrade', () => {
      const policy = new EgressPolicy({ allowCidrs: ['127.0.0.0/8'], allowPorts: [8080] });
      expect(reasonOf('http://example.com/', 'http://127.0.0.1:8080/', policy)).toBeUndefined();
      expect(reasonOf('https://example.com/', 'http://127.0.0.1:8080/', policy)).toBe('downgrade');
    });
  });
});
