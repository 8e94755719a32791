import { readFileSync } from 'node:fs';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';
import { FerryError } from '@ferry/contract';
import { EgressPolicy } from '../../src/egress/address-policy.js';
import { checkUrl } from '../../src/egress/check-url.js';
import { createGuardedLookup, type Resolver } from '../../src/egress/guarded-lookup.js';

interface Payload {
  readonly url: string;
  readonly why: string;
  readonly needsDns?: boolean;
  readonly resolvesTo?: readonly string[];
}

const PAYLOADS = JSON.parse(readFileSync(new URL('../../../../test/fixtures/ssrf-payloads.json', import.meta.url), 'utf8')) as Payload[];

function refusalOf(run: () => unknown): FerryError {
  try {
    run();
  } catch (err) {
    if (err instanceof FerryError) return err;
    throw err;
  }
  throw new Error('expected a refusal');
}

async function asyncRefusalOf(run: () => Promise<unknown>): Promise<FerryError> {
  try {
    await run();
  } catch (err) {
    if (err instanceof FerryError) return err;
    throw err;
  }
  throw new Error('expected a refusal');
}

const check = (raw: string, policy = new EgressPolicy()) => checkUrl(new URL(raw), policy, raw);

function stubResolver(answers: readonly string[]): Resolver {
  return async () => answers.map((address) => ({ address, family: address.includes(':') ? 6 : 4 }));
}

// What the end-to-end suite is expected to run with: its origins on 127.0.0.2 and a high port, canaries elsewhere.
const E2E_POLICY = new EgressPolicy({ allowCidrs: ['127.0.0.2/32'], allowPorts: [{ from: 40000, to: 40100 }] });

describe('the SSRF payload corpus', () => {
  let tried = 0;
  const refusedFor = new Map<string, number>();
  const refused = (refusal: FerryError) => {
    const reason = String(refusal.data.reason);
    refusedFor.set(reason, (refusedFor.get(reason) ?? 0) + 1);
  };
  afterAll(() => {
    const total = [...refusedFor.values()].reduce((sum, count) => sum + count, 0);
    const reasons = [...refusedFor].map(([reason, count]) => `${reason} ${count}`).join(', ');
    console.log(`egress guard: tried ${tried} SSRF payloads, refused ${total} (${reasons})`);
  });

  it('holds at least 150 distinct, explained payloads', () => {
    expect(PAYLOADS.length).toBeGreaterThanOrEqual(150);
    expect(new Set(PAYLOADS.map((payload) => payload.url)).size).toBe(PAYLOADS.length);
    for (const payload of PAYLOADS) {
      expect(payload.why, payload.url).not.toBe('');
      expect(() => new URL(payload.url), payload.url).not.toThrow();
      if (payload.needsDns === true) expect(payload.resolvesTo?.length, payload.url).toBeGreaterThan(0);
    }
  });

  const direct = PAYLOADS.filter((payload) => payload.needsDns !== true);
  it.each(direct)('refuses $url before connecting ($why)', ({ url }) => {
    tried += 1;
    const refusal = refusalOf(() => check(url));
    expect(refusal.code).toBe('FERRY_ERR_BLOCKED_DESTINATION');
    expect(refusal.retryable).toBe(false);
    expect(refusal.message).toMatch(new RegExp(`^destination refused \\(${String(refusal.data.reason)}[,)]`));
    expect(() => check(url, E2E_POLICY)).toThrow(FerryError);
    refused(refusal);
  });

  const viaDns = PAYLOADS.filter((payload) => payload.needsDns === true);
  it.each(viaDns)('refuses $url once DNS answers $resolvesTo ($why)', async ({ url, resolvesTo = [] }) => {
    tried += 1;
    const parsed = new URL(url);
    const policy = new EgressPolicy();
    let refusal: FerryError;
    try {
      checkUrl(parsed, policy, url);
      const lookup = promisify(createGuardedLookup(policy, stubResolver(resolvesTo)));
      refusal = await asyncRefusalOf(() => lookup(parsed.hostname, { all: true }));
    } catch (err) {
      refusal = err as FerryError;
    }
    expect(refusal.code).toBe('FERRY_ERR_BLOCKED_DESTINATION');
    for (const address of resolvesTo) {
      if (!url.includes(address)) expect(refusal.message).not.toContain(address);
    }
    refused(refusal);
  });
});

describe('checkUrl', () => {
  describe('with the default policy', () => {
    it.each([
      'https://example.com/file.zip',
      'http://example.com/',
      'https://example.com:443/a?b=c#d',
      'http://example.com:80/',
      'http://93.184.215.14/',
      'http://[2606:4700:4700::1111]/',
      'https://example.com/path%5Cwith%5Cencoded-backslashes?q=a\\b',
      'http://localhost.example.com/',
    ])('lets %s through', (url) => expect(() => check(url)).not.toThrow());

    it('leaves host names to the guarded lookup', () => expect(() => check('http://internal.example/')).not.toThrow());
  });

  describe('when it refuses', () => {
    it('records the reason in data and in the message', () => {
      const refusal = refusalOf(() => check('http://0x7f.1/'));
      expect(refusal.data).toEqual({ reason: 'loopback' });
      expect(refusal.message).toBe(
        'destination refused (loopback): 127.0.0.1 is a loopback address; Ferry fetches only from public addresses on ports 80 and 443, unless its operator allows the network in FERRY_EGRESS_ALLOW_CIDRS',
      );
      expect(refusal.httpStatus).toBe(400);
    });

    it('names the setting that would let a port or a loopback name through', () => {
      expect(refusalOf(() => check('http://93.184.215.14:8080/')).message).toMatch(
        /^destination refused \(port\): port 8080 is not allowed; .* FERRY_EGRESS_ALLOW_PORTS$/,
      );
      expect(refusalOf(() => check('http://localhost/')).message).toMatch(
        /^destination refused \(loopback\): localhost is a loopback name; .* FERRY_EGRESS_ALLOW_HOSTS$/,
      );
    });

    it.each([
      ['ftp://example.com/', 'scheme'],
      ['http://user:pass@example.com/', 'userinfo'],
      ['http://example.com:6379/', 'port'],
      ['http://exa\tmple.com/', 'control-character'],
      ['http://evil.example\\@127.0.0.1/', 'backslash'],
      ['http://[fe80::1]/', 'link-local'],
      ['http://169.254.169.254/', 'metadata'],
      ['http://[fd00:ec2::254]/', 'metadata'],
      ['http://localhost./', 'loopback'],
    ])('names why %s is refused: %s', (url, reason) => expect(refusalOf(() => check(url)).data.reason).toBe(reason));

    it('checks the raw text for control characters the URL parser would drop', () => {
      const raw = 'http://example.com/\r\nX-Injected: 1';
      expect(() => checkUrl(new URL(raw), new EgressPolicy())).not.toThrow();
      expect(refusalOf(() => checkUrl(new URL(raw), new EgressPolicy(), raw)).data.reason).toBe('control-character');
    });
  });

  describe('when a destination breaks several rules the operator could lift', () => {
    const SETTINGS = /FERRY_EGRESS_ALLOW_[A-Z]+/g;
    const settingsIn = (message: string) => [...new Set(message.match(SETTINGS))].sort();

    it('names every setting it needs in one refusal, the port first', () => {
      const refusal = refusalOf(() => check('http://127.0.0.1:8080/'));
      expect(refusal.data).toEqual({ reason: 'port' });
      expect(refusal.message).toBe(
        'destination refused (port, loopback): port 8080 is not allowed and 127.0.0.1 is a loopback address; Ferry fetches only from public addresses on ports 80 and 443, unless its operator allows the port in FERRY_EGRESS_ALLOW_PORTS and the network in FERRY_EGRESS_ALLOW_CIDRS',
      );
    });

    it.each([
      ['http://127.0.0.1:8080/', ['FERRY_EGRESS_ALLOW_CIDRS', 'FERRY_EGRESS_ALLOW_PORTS']],
      ['http://localhost:8080/', ['FERRY_EGRESS_ALLOW_HOSTS', 'FERRY_EGRESS_ALLOW_PORTS']],
      ['http://[fd00::5]:9000/', ['FERRY_EGRESS_ALLOW_CIDRS', 'FERRY_EGRESS_ALLOW_PORTS']],
      ['http://10.1.2.3:6379/', ['FERRY_EGRESS_ALLOW_CIDRS', 'FERRY_EGRESS_ALLOW_PORTS']],
    ])('refuses %s naming %j', (url, settings) => expect(settingsIn(refusalOf(() => check(url)).message)).toEqual(settings));

    it('lets the destination through once the operator allows what the refusal named, and names only what is still missing', () => {
      expect(() => check('http://127.0.0.1:8080/', new EgressPolicy({ allowPorts: [8080], allowCidrs: ['127.0.0.1/32'] }))).not.toThrow();
      expect(settingsIn(refusalOf(() => check('http://127.0.0.1:8080/', new EgressPolicy({ allowPorts: [8080] }))).message)).toEqual([
        'FERRY_EGRESS_ALLOW_CIDRS',
      ]);
      expect(settingsIn(refusalOf(() => check('http://127.0.0.1:8080/', new EgressPolicy({ allowCidrs: ['127.0.0.1/32'] }))).message)).toEqual([
        'FERRY_EGRESS_ALLOW_PORTS',
      ]);
      expect(() => check('http://localhost:8080/', new EgressPolicy({ allowPorts: [8080], allowHosts: ['localhost'] }))).not.toThrow();
    });

    it('says what a host name on a refused port would also need if its addresses are not public, naming no address', () => {
      const refusal = refusalOf(() => check('http://nginx.lan:8080/'));
      expect(refusal.data).toEqual({ reason: 'port' });
      expect(refusal.message).toBe(
        'destination refused (port): port 8080 is not allowed; Ferry fetches only from public addresses on ports 80 and 443, unless its operator allows the port in FERRY_EGRESS_ALLOW_PORTS; should nginx.lan resolve to an address that is not public, also the network in FERRY_EGRESS_ALLOW_CIDRS or the name in FERRY_EGRESS_ALLOW_HOSTS',
      );
      // A listed name's addresses go unchecked: the port is all it needs.
      const listed = refusalOf(() => check('http://nginx.lan:8080/', new EgressPolicy({ allowHosts: ['nginx.lan'] })));
      expect(settingsIn(listed.message)).toEqual(['FERRY_EGRESS_ALLOW_PORTS']);
    });
  });

  describe('when the operator allows loopback, a host and a port', () => {
    const policy = new EgressPolicy({ allowCidrs: ['127.0.0.0/8', '::1/128'], allowHosts: ['files.internal'], allowPorts: [8080] });

    it('lets loopback literals and localhost through on allowed ports', () => {
      for (const url of ['http://127.0.0.1:8080/', 'http://2130706433/', 'http://[::1]:8080/', 'http://[::ffff:127.0.0.1]/', 'http://localhost:8080/']) {
        expect(() => check(url, policy), url).not.toThrow();
      }
    });

    it('still refuses other ports, schemes, userinfo and private ranges', () => {
      expect(refusalOf(() => check('http://127.0.0.1:6379/', policy)).data.reason).toBe('port');
      expect(refusalOf(() => check('gopher://127.0.0.1:8080/', policy)).data.reason).toBe('scheme');
      expect(refusalOf(() => check('http://a@127.0.0.1:8080/', policy)).data.reason).toBe('userinfo');
      expect(refusalOf(() => check('http://10.0.0.1:8080/', policy)).data.reason).toBe('private');
    });

    it('lets an allowed host name through on an allowed port only', () => {
      expect(() => check('http://FILES.internal.:8080/', policy)).not.toThrow();
      expect(refusalOf(() => check('http://files.internal:9000/', policy)).data.reason).toBe('port');
    });
  });

  describe('when the operator allows localhost by name', () => {
    it('lets localhost through without allowing 127.0.0.1 literals', () => {
      const policy = new EgressPolicy({ allowHosts: ['localhost'] });
      expect(() => check('http://localhost/', policy)).not.toThrow();
      expect(refusalOf(() => check('http://127.0.0.1/', policy)).data.reason).toBe('loopback');
      expect(refusalOf(() => check('http://a.localhost/', policy)).data.reason).toBe('loopback');
    });
  });
});
