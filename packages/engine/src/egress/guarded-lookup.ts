import { promises as dns, type LookupAddress } from 'node:dns';
import type { LookupFunction } from 'node:net';
import type { EgressPolicy } from './address-policy.js';
import { ADDRESS_LIFT, describeCategory, refusedUnlessAllowed } from './blocked-destination.js';

export interface ResolvedAddress {
  readonly address: string;
  readonly family: 4 | 6;
}

/** Every A and AAAA record for a host name. Injectable so tests can answer without DNS or /etc/hosts. */
export type Resolver = (hostname: string) => Promise<readonly ResolvedAddress[]>;

/** The system resolver (getaddrinfo, /etc/hosts included), asked for all records at once. */
export const systemResolver: Resolver = async (hostname) => {
  const answers = await dns.lookup(hostname, { all: true });
  return answers.map(({ address, family }) => ({ address, family: family === 6 ? 6 : 4 }));
};

function notFound(hostname: string): NodeJS.ErrnoException {
  return Object.assign(new Error(`getaddrinfo ENOTFOUND ${hostname}`), { code: 'ENOTFOUND', syscall: 'getaddrinfo', hostname });
}

/**
 * Resolves `hostname` and checks every answer: if any is refused, the whole name
 * is, since which record a connection ends up using is not ours to choose.
 * Resolver failures (ENOTFOUND, EAI_AGAIN) pass through unchanged: they are
 * network trouble, not a refusal.
 */
export async function resolveChecked(hostname: string, policy: EgressPolicy, resolve: Resolver): Promise<readonly ResolvedAddress[]> {
  const answers = await resolve(hostname);
  if (answers.length === 0) throw notFound(hostname);
  if (policy.allowsHost(hostname)) return answers;
  for (const { address } of answers) {
    const verdict = policy.checkAddress(address);
    if (!verdict.allowed) {
      throw refusedUnlessAllowed([{ reason: verdict.reason, problem: `${hostname} resolves to ${describeCategory(verdict.reason)}`, lift: ADDRESS_LIFT }]);
    }
  }
  return answers;
}

function wantedFamily(family: number | string | undefined): 4 | 6 | undefined {
  if (family === 4 || family === 'IPv4') return 4;
  if (family === 6 || family === 'IPv6') return 6;
  return undefined;
}

/**
 * A `lookup` for `net.connect`, `tls.connect` and undici's connector. The socket
 * connects to the addresses handed back here, which are exactly the ones that were
 * checked: there is no second resolution for a rebinding DNS server to answer
 * differently. (Node does not call `lookup` for IP literals; see checkHost.)
 */
export function createGuardedLookup(policy: EgressPolicy, resolve: Resolver = systemResolver): LookupFunction {
  return (hostname, options, callback) => {
    resolveChecked(hostname, policy, resolve).then(
      (answers) => {
        const family = wantedFamily(options.family);
        const usable = family === undefined ? answers : answers.filter((answer) => answer.family === family);
        const [first] = usable;
        if (first === undefined) return callback(notFound(hostname), '');
        if (options.all === true)
          return callback(
            null,
            usable.map(({ address, family }): LookupAddress => ({ address, family })),
          );
        return callback(null, first.address, first.family);
      },
      (err: NodeJS.ErrnoException) => callback(err, ''),
    );
  };
}
