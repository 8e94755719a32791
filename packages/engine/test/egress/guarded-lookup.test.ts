import type { LookupAddress } from 'node:dns';
import net from 'node:net';
import { promisify } from 'node:util';
import { request } from 'undici';
import { afterEach, describe, expect, it } from 'vitest';
import { FerryError } from '@ferry/contract';
import { EgressPolicy } from '../../src/egress/address-policy.js';
import { checkUrl } from '../../src/egress/check-url.js';
import { createGuardedAgent } from '../../src/egress/guarded-agent.js';
import { createGuardedLookup, resolveChecked, type Resolver } from '../../src/egress/guarded-lookup.js';
import { startCanary, startOrigin, startOriginAndCanary, type Canary, type Origin } from './canary.js';

function answers(...addresses: string[]) {
  return addresses.map((address) => ({ address, family: net.isIPv6(address) ? (6 as const) : (4 as const) }));
}

/** A resolver that answers each call with the next list of addresses (the last one repeats), counting calls. */
function scriptedResolver(...script: string[][]): Resolver & { calls: string[] } {
  const calls: string[] = [];
  const resolve = async (hostname: string) => {
    calls.push(hostname);
    return answers(...(script[Math.min(calls.length, script.length) - 1] ?? []));
  };
  return Object.assign(resolve, { calls });
}

async function rejectionOf(promise: Promise<unknown>): Promise<unknown> {
  try {
    await promise;
  } catch (err) {
    return err;
  }
  throw new Error('expected a rejection');
}

const lookupAll = (policy: EgressPolicy, resolve: Resolver, hostname: string) =>
  promisify(createGuardedLookup(policy, resolve))(hostname, { all: true }) as unknown as Promise<LookupAddress[]>;

const cleanup: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const close of cleanup.splice(0).reverse()) await close();
});

async function canaryOn(host: string, port?: number): Promise<Canary> {
  const canary = await startCanary(host, port);
  cleanup.push(() => canary.close());
  return canary;
}

function agentFor(policy: EgressPolicy, resolve: Resolver) {
  const agent = createGuardedAgent({ connectTimeoutMs: 2000, policy, resolve });
  cleanup.push(() => agent.close());
  return agent;
}

describe('resolveChecked', () => {
  describe('when a name resolves to a mix of public and private addresses', () => {
    it('refuses the whole name, without naming the private address', async () => {
      const err = await rejectionOf(resolveChecked('mixed.example', new EgressPolicy(), scriptedResolver(['93.184.215.14', '10.0.0.1'])));
      expect(err).toBeInstanceOf(FerryError);
      expect(err).toMatchObject({ code: 'FERRY_ERR_BLOCKED_DESTINATION', data: { reason: 'private' } });
      expect((err as FerryError).message).toBe(
        'destination refused (private): mixed.example resolves to a private address; Ferry fetches only from public addresses on ports 80 and 443, unless its operator allows the network in FERRY_EGRESS_ALLOW_CIDRS or the name in FERRY_EGRESS_ALLOW_HOSTS',
      );
    });

    it('refuses a private IPv6 answer next to a public IPv4 one', async () => {
      const err = await rejectionOf(resolveChecked('dual.example', new EgressPolicy(), scriptedResolver(['93.184.215.14', 'fe80::1'])));
      expect(err).toMatchObject({ code: 'FERRY_ERR_BLOCKED_DESTINATION', data: { reason: 'link-local' } });
    });
  });

  describe('when every answer is public', () => {
    it('returns exactly the answers it checked', async () => {
      const checked = await resolveChecked('public.example', new EgressPolicy(), scriptedResolver(['93.184.215.14', '2606:2800:21f:cb07:6820:80da:af6b:8b2c']));
      expect(checked).toEqual(answers('93.184.215.14', '2606:2800:21f:cb07:6820:80da:af6b:8b2c'));
    });
  });

  describe('when the operator allows the host name', () => {
    it('returns private answers unchecked', async () => {
      const policy = new EgressPolicy({ allowHosts: ['minio.internal'] });
      expect(await resolveChecked('MINIO.internal.', policy, scriptedResolver(['10.0.0.5']))).toEqual(answers('10.0.0.5'));
    });
  });

  describe('when the operator allows the network', () => {
    it('returns answers inside it and refuses answers outside it', async () => {
      const policy = new EgressPolicy({ allowCidrs: ['10.0.0.0/24'] });
      expect(await resolveChecked('a.internal', policy, scriptedResolver(['10.0.0.5']))).toEqual(answers('10.0.0.5'));
      expect(await rejectionOf(resolveChecked('b.internal', policy, scriptedResolver(['10.0.0.5', '10.0.1.5'])))).toMatchObject({
        data: { reason: 'private' },
      });
    });
  });

  describe('when DNS fails', () => {
    it('passes the resolver error through, since that is worth retrying', async () => {
      const failure = Object.assign(new Error('getaddrinfo EAI_AGAIN flaky.example'), { code: 'EAI_AGAIN' });
      const err = await rejectionOf(resolveChecked('flaky.example', new EgressPolicy(), () => Promise.reject(failure)));
      expect(err).toBe(failure);
    });

    it('reports an empty answer as ENOTFOUND', async () => {
      expect(await rejectionOf(resolveChecked('empty.example', new EgressPolicy(), scriptedResolver([])))).toMatchObject({ code: 'ENOTFOUND' });
    });
  });
});

describe('createGuardedLookup', () => {
  const resolve = scriptedResolver(['93.184.215.14', '2606:2800:21f:cb07:6820:80da:af6b:8b2c']);

  it('answers `all` lookups with every checked address, as Node asks when it races IPv4 and IPv6', async () => {
    expect(await lookupAll(new EgressPolicy(), resolve, 'public.example')).toEqual([
      { address: '93.184.215.14', family: 4 },
      { address: '2606:2800:21f:cb07:6820:80da:af6b:8b2c', family: 6 },
    ]);
  });

  it('answers single lookups with the first checked address of the family asked for', async () => {
    const lookup = createGuardedLookup(new EgressPolicy(), resolve);
    const single = (family: number) =>
      new Promise((done, fail) => lookup('public.example', { family }, (err, address, family) => (err ? fail(err) : done({ address, family }))));
    expect(await single(0)).toEqual({ address: '93.184.215.14', family: 4 });
    expect(await single(6)).toEqual({ address: '2606:2800:21f:cb07:6820:80da:af6b:8b2c', family: 6 });
  });

  it('refuses a name with a denied answer of the other family too', async () => {
    const lookup = createGuardedLookup(new EgressPolicy(), scriptedResolver(['93.184.215.14', '::1']));
    const err = await new Promise((done) => lookup('dual.example', { family: 4 }, done));
    expect(err).toMatchObject({ code: 'FERRY_ERR_BLOCKED_DESTINATION', data: { reason: 'loopback' } });
  });

  it('reports ENOTFOUND when no checked address has the family asked for', async () => {
    const lookup = createGuardedLookup(new EgressPolicy(), scriptedResolver(['93.184.215.14']));
    const err = await new Promise((done) => lookup('v4only.example', { family: 6 }, done));
    expect(err).toMatchObject({ code: 'ENOTFOUND' });
  });
});

describe('createGuardedAgent', () => {
  describe('when a host name resolves to 127.0.0.1', () => {
    it('refuses to connect, and the error reaching request() is the FerryError itself', async () => {
      const canary = await canaryOn('127.0.0.1');
      const agent = agentFor(new EgressPolicy({ allowPorts: [canary.port] }), scriptedResolver(['127.0.0.1']));
      const err = await rejectionOf(request(`http://origin.test:${canary.port}/`, { dispatcher: agent }));
      expect(err).toBeInstanceOf(FerryError);
      expect(err).toMatchObject({ code: 'FERRY_ERR_BLOCKED_DESTINATION', data: { reason: 'loopback' } });
      expect((err as Error).cause).toBeUndefined();
      expect((err as FerryError).message).not.toContain('127.0.0.1');
      expect(canary.connections()).toBe(0);
    });

    it('connects once the operator allows 127.0.0.0/8, keeping the host name in the Host header', async () => {
      const origin = await startOrigin('127.0.0.1');
      cleanup.push(() => origin.close());
      const resolve = scriptedResolver(['127.0.0.1']);
      const agent = agentFor(new EgressPolicy({ allowCidrs: ['127.0.0.0/8'], allowPorts: [origin.port] }), resolve);
      const response = await request(`http://origin.test:${origin.port}/`, { dispatcher: agent });
      expect(await response.body.text()).toBe('origin');
      expect(origin.requests).toEqual([{ host: `origin.test:${origin.port}`, localAddress: '127.0.0.1' }]);
      expect(resolve.calls).toEqual(['origin.test']);
    });

    it('sends the host name, not the address, as the TLS servername', async () => {
      const canary = await canaryOn('127.0.0.1');
      const agent = agentFor(new EgressPolicy({ allowCidrs: ['127.0.0.0/8'], allowPorts: [canary.port] }), scriptedResolver(['127.0.0.1']));
      await rejectionOf(request(`https://secure.test:${canary.port}/`, { dispatcher: agent }));
      expect(canary.connections()).toBe(1);
      const clientHello = Buffer.concat(canary.received()).toString('latin1');
      expect(clientHello).toContain('secure.test');
    });
  });

  describe('when the URL host is an IP literal (Node skips lookup for those)', () => {
    it.each([
      ['127.0.0.1', 'http://127.0.0.1'],
      ['::1', 'http://[::1]'],
    ])('refuses %s in the connector, before any socket opens', async (host, base) => {
      const canary = await canaryOn(host);
      const resolve = scriptedResolver([]);
      const agent = agentFor(new EgressPolicy({ allowPorts: [canary.port] }), resolve);
      const err = await rejectionOf(request(`${base}:${canary.port}/`, { dispatcher: agent }));
      expect(err).toMatchObject({ code: 'FERRY_ERR_BLOCKED_DESTINATION', data: { reason: 'loopback' } });
      expect(canary.connections()).toBe(0);
      expect(resolve.calls).toEqual([]);
    });

    it('connects to an allowed literal', async () => {
      const origin = await startOrigin('::1');
      cleanup.push(() => origin.close());
      const agent = agentFor(new EgressPolicy({ allowCidrs: ['::1/128'], allowPorts: [origin.port] }), scriptedResolver([]));
      const response = await request(`http://[::1]:${origin.port}/`, { dispatcher: agent });
      expect(response.statusCode).toBe(200);
      await response.body.dump();
    });
  });

  describe('when the port is not allowed', () => {
    it('refuses in the connector even for an allowed network', async () => {
      const canary = await canaryOn('127.0.0.1');
      const resolve = scriptedResolver(['127.0.0.1']);
      const agent = agentFor(new EgressPolicy({ allowCidrs: ['127.0.0.0/8'] }), resolve);
      const err = await rejectionOf(request(`http://origin.test:${canary.port}/`, { dispatcher: agent }));
      expect(err).toMatchObject({ code: 'FERRY_ERR_BLOCKED_DESTINATION', data: { reason: 'port' } });
      expect(canary.connections()).toBe(0);
      expect(resolve.calls).toEqual([]);
    });
  });

  describe('when DNS rebinds: an allowed answer first, then 127.0.0.1', () => {
    // 127.0.0.2 stands in for a public origin (no test traffic leaves loopback); 127.0.0.1 is the target.
    const policyFor = (port: number) => new EgressPolicy({ allowCidrs: ['127.0.0.2/32'], allowPorts: [port] });
    let origin: Origin;
    let canary: Canary;

    async function startPair(headers: Record<string, string> = {}) {
      ({ origin, canary } = await startOriginAndCanary('127.0.0.2', '127.0.0.1', headers));
      cleanup.push(
        () => origin.close(),
        () => canary.close(),
      );
    }

    it('connects to the address it checked, without resolving a second time', async () => {
      await startPair();
      const resolve = scriptedResolver(['127.0.0.2'], ['127.0.0.1']);
      const agent = agentFor(policyFor(origin.port), resolve);
      const url = `http://rebind.test:${origin.port}/`;
      checkUrl(new URL(url), policyFor(origin.port)); // what openResponse will do first: it needs no DNS
      expect(await (await request(url, { dispatcher: agent })).body.text()).toBe('origin');
      expect(resolve.calls).toEqual(['rebind.test']);
      expect(origin.requests).toEqual([{ host: `rebind.test:${origin.port}`, localAddress: '127.0.0.2' }]);
      expect(canary.connections()).toBe(0);
    });

    it('refuses the next connection once the answer turns private', async () => {
      await startPair({ connection: 'close' });
      const resolve = scriptedResolver(['127.0.0.2'], ['127.0.0.1']);
      const agent = agentFor(policyFor(origin.port), resolve);
      const url = `http://rebind.test:${origin.port}/`;
      await (await request(url, { dispatcher: agent })).body.dump();
      const err = await rejectionOf(request(url, { dispatcher: agent }));
      expect(err).toMatchObject({ code: 'FERRY_ERR_BLOCKED_DESTINATION', data: { reason: 'loopback' } });
      expect(resolve.calls).toEqual(['rebind.test', 'rebind.test']);
      expect(origin.requests).toHaveLength(1);
      expect(canary.connections()).toBe(0);
    });

    it('refuses a single answer that holds both', async () => {
      await startPair();
      const agent = agentFor(policyFor(origin.port), scriptedResolver(['127.0.0.2', '127.0.0.1']));
      const err = await rejectionOf(request(`http://rebind.test:${origin.port}/`, { dispatcher: agent }));
      expect(err).toMatchObject({ code: 'FERRY_ERR_BLOCKED_DESTINATION' });
      expect(origin.requests).toHaveLength(0);
      expect(canary.connections()).toBe(0);
    });
  });

  describe('when the operator allows 127.0.0.0/8', () => {
    it('lets a canary see exactly one connection for one request', async () => {
      const canary = await canaryOn('127.0.0.1');
      const agent = agentFor(new EgressPolicy({ allowCidrs: ['127.0.0.0/8'], allowPorts: [canary.port] }), scriptedResolver(['127.0.0.1']));
      await rejectionOf(request(`http://origin.test:${canary.port}/`, { dispatcher: agent }));
      expect(canary.connections()).toBe(1);
    });
  });
});
