import { describe, expect, it } from 'vitest';
import { loadConfig } from '../src/config.js';
import { limitHost } from '../src/limits/limit-host.js';

describe('limitHost', () => {
  it('normalises case, IDNA, a trailing dot and the ports 80 and 443, and keeps any other port', () => {
    expect(limitHost('HTTPS://Bücher.Example.:443/a')).toBe('xn--bcher-kva.example');
    expect(limitHost('http://xn--bcher-kva.example:80/b')).toBe('xn--bcher-kva.example');
    expect(limitHost('http://files.example:443/c')).toBe('files.example');
    expect(limitHost('https://files.example:8443/c')).toBe('files.example:8443');
    expect(limitHost('http://[::1]:8080/')).toBe('[::1]:8080');
    expect(limitHost('not a url')).toBeUndefined();
  });

  it('names an IPv4-mapped IPv6 literal by its IPv4 address, the server a connection to it reaches', () => {
    expect(limitHost('http://[::ffff:127.0.0.2]:8080/')).toBe('127.0.0.2:8080');
    expect(limitHost('http://[0:0:0:0:0:FFFF:7F00:2]:8080/')).toBe('127.0.0.2:8080');
    expect(limitHost('https://[::ffff:93.184.216.34]/')).toBe('93.184.216.34');
    expect(limitHost('http://[2001:db8::1]/')).toBe('[2001:db8::1]');
  });
});

describe('the limit overrides', () => {
  it('are read into maps by normalised host and by key name', () => {
    const config = loadConfig({
      FERRY_HOST_CONCURRENCY_OVERRIDES: 'CDN.Example.com=32, slow.example.org:8080=2, bücher.example:443=3',
      FERRY_KEY_CONCURRENCY_OVERRIDES: 'importer=2',
    });
    expect([...config.limits.hostOverrides]).toEqual([
      ['cdn.example.com', 32],
      ['slow.example.org:8080', 2],
      ['xn--bcher-kva.example', 3],
    ]);
    expect([...config.limits.keyOverrides]).toEqual([['importer', 2]]);
  });

  it.each([
    ['FERRY_HOST_CONCURRENCY_OVERRIDES', 'cdn.example.com', 'host=N entries'],
    ['FERRY_HOST_CONCURRENCY_OVERRIDES', 'https://cdn.example.com=3', 'leave out the scheme'],
    ['FERRY_HOST_CONCURRENCY_OVERRIDES', 'a.example=0', 'whole number from 1'],
    ['FERRY_HOST_CONCURRENCY_OVERRIDES', 'a.example=1,A.example=2', 'a second time'],
    ['FERRY_KEY_CONCURRENCY_OVERRIDES', 'no spaces=2', 'not an API key name'],
    ['FERRY_HOST_RATE_PER_SECOND', '-1', '0 (off) or more'],
  ])('refuses %s=%s, saying how to fix it', (name, value, message) => {
    expect(() => loadConfig({ [name]: value })).toThrow(message);
  });

  it('refuses a key override naming no key of FERRY_API_KEYS, where it would silently limit nobody', () => {
    const keys = `web:${'a'.repeat(64)}`;
    expect(() => loadConfig({ FERRY_API_KEYS: keys, FERRY_KEY_CONCURRENCY_OVERRIDES: 'wbe=2' })).toThrow(
      'FERRY_KEY_CONCURRENCY_OVERRIDES names wbe, which is no key in FERRY_API_KEYS',
    );
    expect([...loadConfig({ FERRY_API_KEYS: keys, FERRY_KEY_CONCURRENCY_OVERRIDES: 'web=2' }).limits.keyOverrides]).toEqual([['web', 2]]);
    // A worker needs no FERRY_API_KEYS: without it the names cannot be checked.
    expect([...loadConfig({ FERRY_KEY_CONCURRENCY_OVERRIDES: 'wbe=2' }).limits.keyOverrides]).toEqual([['wbe', 2]]);
  });

  it('refuses a first wait longer than the longest', () => {
    expect(() => loadConfig({ FERRY_LIMIT_WAIT_MS: '6000', FERRY_LIMIT_WAIT_MAX_MS: '5000' })).toThrow('FERRY_LIMIT_WAIT_MS (6000) must not exceed');
  });
});
