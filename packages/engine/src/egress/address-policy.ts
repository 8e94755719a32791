import { BlockList } from 'node:net';
import { FerryError } from '@ferry/contract';
import { embeddedIPv4, isIPv4Mapped, networkOf, parseIp, type IpAddress } from './ip-address.js';

/** Why an address is refused; short enough to put in an error code's data and a log line. */
export type AddressCategory =
  | 'invalid'
  | 'metadata'
  | 'unspecified'
  | 'loopback'
  | 'private'
  | 'cgnat'
  | 'link-local'
  | 'site-local'
  | 'ietf-protocol'
  | 'documentation'
  | 'benchmarking'
  | '6to4'
  | 'teredo'
  | 'nat64'
  | 'ipv4-compatible'
  | 'ipv4-translated'
  | 'discard-only'
  | 'multicast'
  | 'broadcast'
  | 'reserved';

export type AddressVerdict = { readonly allowed: true } | { readonly allowed: false; readonly reason: AddressCategory };

type Ranges = readonly (readonly [AddressCategory, readonly string[]])[];

/**
 * Everything IANA's special-purpose registries mark not globally reachable, plus
 * cloud metadata endpoints. The first matching row names the reason, so narrow
 * rows come before the ranges that contain them.
 */
const IPV4_RANGES: Ranges = [
  [
    'metadata',
    [
      '169.254.169.254/32', // AWS, GCP, Azure, OpenStack, Oracle
      '169.254.170.2/32', // AWS ECS task credentials
      '169.254.170.23/32', // AWS EKS Pod Identity
      '100.100.100.200/32', // Alibaba Cloud
      '168.63.129.16/32', // Azure WireServer: a public address that answers only from inside Azure
    ],
  ],
  ['unspecified', ['0.0.0.0/8']],
  ['private', ['10.0.0.0/8', '172.16.0.0/12', '192.168.0.0/16']],
  ['cgnat', ['100.64.0.0/10']],
  ['loopback', ['127.0.0.0/8']],
  ['link-local', ['169.254.0.0/16']],
  ['ietf-protocol', ['192.0.0.0/24']],
  ['documentation', ['192.0.2.0/24', '198.51.100.0/24', '203.0.113.0/24']],
  ['6to4', ['192.88.99.0/24']], // the deprecated anycast relay
  ['benchmarking', ['198.18.0.0/15']],
  ['multicast', ['224.0.0.0/4']],
  ['broadcast', ['255.255.255.255/32']],
  ['reserved', ['240.0.0.0/4']],
];

const IPV6_RANGES: Ranges = [
  ['metadata', ['fd00:ec2::254/128', 'fd00:ec2::23/128']], // AWS IMDS and EKS Pod Identity over IPv6
  ['unspecified', ['::/128']],
  ['loopback', ['::1/128']],
  ['ipv4-compatible', ['::/96']],
  ['ipv4-translated', ['::ffff:0:0:0/96']],
  ['nat64', ['64:ff9b::/96', '64:ff9b:1::/48']],
  ['discard-only', ['100::/64']],
  ['teredo', ['2001::/32']],
  ['benchmarking', ['2001:2::/48']],
  ['documentation', ['2001:db8::/32', '3fff::/20']],
  // The rest of 2001::/23 is protocol anycast (AS112, AMT, ORCHID): nothing a download needs.
  ['ietf-protocol', ['2001::/23']],
  ['6to4', ['2002::/16']],
  ['private', ['fc00::/7']],
  ['link-local', ['fe80::/10']],
  ['site-local', ['fec0::/10']],
  ['multicast', ['ff00::/8']],
];

/** Only 2000::/3 holds global unicast; IANA has allocated nothing public outside it. */
const IPV6_GLOBAL_UNICAST = blockListOf(['2000::/3'], 'ipv6');

// One list per family: a BlockList holding IPv6 rules also matches IPv4 queries
// through their mapped form, which would blur the reasons.
function blockListOf(cidrs: readonly string[], type: 'ipv4' | 'ipv6'): BlockList {
  const list = new BlockList();
  for (const cidr of cidrs) {
    const [network = '', prefix = ''] = cidr.split('/');
    list.addSubnet(network, Number(prefix), type);
  }
  return list;
}

const compile = (ranges: Ranges, type: 'ipv4' | 'ipv6') => ranges.map(([reason, cidrs]) => [reason, blockListOf(cidrs, type)] as const);
const IPV4_LISTS = compile(IPV4_RANGES, 'ipv4');
const IPV6_LISTS = compile(IPV6_RANGES, 'ipv6');

function classifyParsed(address: IpAddress): AddressVerdict {
  if (isIPv4Mapped(address)) return classifyParsed(embeddedIPv4(address));
  const type = address.family === 4 ? 'ipv4' : 'ipv6';
  for (const [reason, list] of address.family === 4 ? IPV4_LISTS : IPV6_LISTS) {
    if (list.check(address.text, type)) return { allowed: false, reason };
  }
  if (address.family === 6 && !IPV6_GLOBAL_UNICAST.check(address.text, 'ipv6')) return { allowed: false, reason: 'reserved' };
  return { allowed: true };
}

/**
 * Whether a worker may connect to `ip` when no operator exception applies: only
 * public unicast is allowed. IPv4-mapped IPv6 is judged by the IPv4 address it
 * carries; the other ways of wrapping IPv4 in IPv6 (compatible, NAT64, 6to4,
 * Teredo) are refused outright, since the host behind them cannot be checked.
 */
export function classifyAddress(ip: string): AddressVerdict {
  const address = parseIp(ip);
  return address === undefined ? { allowed: false, reason: 'invalid' } : classifyParsed(address);
}

/** A port, or an inclusive range of them. */
export type PortRule = number | { readonly from: number; readonly to: number };

export interface EgressPolicyOptions {
  /**
   * Networks a worker may reach even though they are not public, as IPv4 or IPv6
   * CIDRs (`10.0.0.0/8`, `fd00::/8`, `127.0.0.1/32`). They override every refusal
   * by address, metadata included.
   * @defaultValue none
   */
  readonly allowCidrs?: readonly string[];
  /**
   * Host names whose addresses are not checked at all (exact names, matched
   * case-insensitively, a trailing dot ignored). Ports are still checked.
   * @defaultValue none
   */
  readonly allowHosts?: readonly string[];
  /**
   * Ports allowed besides 80 and 443, which always are.
   * @defaultValue none
   */
  readonly allowPorts?: readonly PortRule[];
}

const ALWAYS_ALLOWED_PORTS: readonly number[] = [80, 443];

/** A host name in the form URL parsing leaves it, minus the trailing dot that names the same host. */
export function normalizeHostname(hostname: string): string {
  const lower = hostname.toLowerCase();
  return lower.endsWith('.') ? lower.slice(0, -1) : lower;
}

function configError(message: string): FerryError {
  return new FerryError('FERRY_ERR_CONFIG', message);
}

/**
 * Where workers may connect: public unicast addresses on ports 80 and 443, plus
 * what an operator allowed. Built once from config; immutable afterwards.
 */
export class EgressPolicy {
  readonly #allowed4 = new BlockList();
  readonly #allowed6 = new BlockList();
  readonly #hosts: ReadonlySet<string>;
  readonly #ports: readonly PortRule[];

  constructor(options: EgressPolicyOptions = {}) {
    for (const cidr of options.allowCidrs ?? []) {
      const { address, prefix } = parseCidr(cidr);
      if (address.family === 4) this.#allowed4.addSubnet(address.text, prefix, 'ipv4');
      else this.#allowed6.addSubnet(address.text, prefix, 'ipv6');
    }
    this.#hosts = new Set((options.allowHosts ?? []).map(normalizeHostname));
    for (const rule of options.allowPorts ?? []) {
      const [from, to] = typeof rule === 'number' ? [rule, rule] : [rule.from, rule.to];
      if (!isPort(from) || !isPort(to) || from > to) throw configError(`invalid allowed port ${JSON.stringify(rule)}: ports are whole numbers from 1 to 65535`);
    }
    this.#ports = [...(options.allowPorts ?? [])];
    Object.freeze(this);
  }

  /** The verdict on one address a worker is about to connect to. */
  checkAddress(ip: string): AddressVerdict {
    const address = parseIp(ip);
    if (address === undefined) return { allowed: false, reason: 'invalid' };
    if (this.#operatorAllows(address)) return { allowed: true };
    return classifyParsed(address);
  }

  /** Whether the operator listed this host name, so its addresses go unchecked. */
  allowsHost(hostname: string): boolean {
    return this.#hosts.has(normalizeHostname(hostname));
  }

  allowsPort(port: number): boolean {
    if (ALWAYS_ALLOWED_PORTS.includes(port)) return true;
    return this.#ports.some((rule) => (typeof rule === 'number' ? rule === port : rule.from <= port && port <= rule.to));
  }

  #operatorAllows(address: IpAddress): boolean {
    if (address.family === 4) return this.#allowed4.check(address.text, 'ipv4');
    if (this.#allowed6.check(address.text, 'ipv6')) return true;
    return isIPv4Mapped(address) && this.#allowed4.check(embeddedIPv4(address).text, 'ipv4');
  }
}

function isPort(value: number): boolean {
  return Number.isInteger(value) && value >= 1 && value <= 65535;
}

const CIDR_EXAMPLE = 'write networks as address/prefix, e.g. 10.0.0.0/8, 127.0.0.1/32 or fd00::/8';

/**
 * Parses one operator-supplied CIDR (a bare address means just that address).
 * The errors say how to write it instead.
 */
export function parseCidr(text: string): { address: IpAddress; prefix: number } {
  const fail = (problem: string) => configError(`"${text}" ${problem}`);
  const [spelled = '', prefixText, extra] = text.trim().split('/');
  if (extra !== undefined) throw fail(`has more than one "/"; ${CIDR_EXAMPLE}`);
  if (spelled.startsWith('[')) throw fail(`has brackets; write IPv6 networks without them, e.g. fd00::/8`);
  if (spelled.includes('%')) throw fail(`has a zone index (%...); zones do not belong in a network, e.g. fe80::/10`);
  const address = parseIp(spelled);
  if (address === undefined) throw fail(`does not start with an IP address; ${CIDR_EXAMPLE}`);
  const maxPrefix = address.family === 4 ? 32 : 128;
  if (prefixText === undefined) return { address, prefix: maxPrefix };
  const prefix = /^\d{1,3}$/.test(prefixText) ? Number(prefixText) : Number.NaN;
  if (!(prefix <= maxPrefix)) throw fail(`has an invalid prefix length; an IPv${address.family} prefix is a whole number from 0 to ${maxPrefix}`);
  const network = networkOf(address, prefix);
  if (network.text !== address.text) {
    throw fail(`has bits set after the /${prefix} prefix; did you mean ${network.text}/${prefix}? (for one address, write ${address.text}/${maxPrefix})`);
  }
  return { address, prefix };
}
