import { isIPv4, isIPv6 } from 'node:net';

/**
 * An IP address in one canonical spelling, so that `::ffff:127.0.0.1`,
 * `0:0:0:0:0:ffff:7f00:1` and `::FFFF:7F00:1` are recognised as the same thing.
 */
export type IpAddress =
  | { readonly family: 4; readonly bytes: readonly number[]; readonly text: string }
  | { readonly family: 6; readonly hextets: readonly number[]; readonly text: string };

function ipv4(bytes: readonly number[]): IpAddress {
  return { family: 4, bytes, text: bytes.join('.') };
}

function ipv6(hextets: readonly number[]): IpAddress {
  return { family: 6, hextets, text: formatIPv6(hextets) };
}

/** Strict dotted-quad only: the lenient forms (`127.1`, `0x7f.1`) are the URL parser's job, and it rewrites them to this. */
function ipv4Bytes(text: string): number[] | undefined {
  return isIPv4(text) ? text.split('.').map(Number) : undefined;
}

function ipv6Hextets(text: string): number[] | undefined {
  if (!isIPv6(text)) return undefined;
  let spelled = text;
  const lastColon = spelled.lastIndexOf(':');
  const v4 = ipv4Bytes(spelled.slice(lastColon + 1));
  if (v4 !== undefined) {
    const [a = 0, b = 0, c = 0, d = 0] = v4;
    spelled = `${spelled.slice(0, lastColon + 1)}${((a << 8) | b).toString(16)}:${((c << 8) | d).toString(16)}`;
  }
  const [head = '', tail] = spelled.split('::');
  const groups = (part: string) => (part === '' ? [] : part.split(':').map((group) => parseInt(group, 16)));
  const front = groups(head);
  if (tail === undefined) return front;
  const back = groups(tail);
  return [...front, ...new Array<number>(8 - front.length - back.length).fill(0), ...back];
}

/** RFC 5952 text: lower case, leading zeros dropped, the longest run of two or more zero groups written `::`. */
export function formatIPv6(hextets: readonly number[]): string {
  let bestStart = -1;
  let bestLength = 1;
  for (let start = 0; start < hextets.length;) {
    let end = start;
    while (end < hextets.length && hextets[end] === 0) end += 1;
    if (end - start > bestLength) [bestStart, bestLength] = [start, end - start];
    start = end === start ? start + 1 : end;
  }
  const hex = (part: readonly number[]) => part.map((group) => group.toString(16)).join(':');
  if (bestStart === -1) return hex(hextets);
  return `${hex(hextets.slice(0, bestStart))}::${hex(hextets.slice(bestStart + bestLength))}`;
}

/**
 * Parses an address as DNS answers and URL hosts spell it: dotted-quad IPv4, or
 * IPv6 with or without brackets and zone (`fe80::1%eth0` — the zone does not change
 * which network the address is on). Anything else is `undefined`.
 */
export function parseIp(text: string): IpAddress | undefined {
  const unbracketed = text.startsWith('[') && text.endsWith(']') ? text.slice(1, -1) : text;
  const zoneless = unbracketed.split('%')[0] ?? '';
  const bytes = ipv4Bytes(zoneless);
  if (bytes !== undefined) return ipv4(bytes);
  const hextets = ipv6Hextets(zoneless);
  return hextets === undefined ? undefined : ipv6(hextets);
}

/** The IPv4 address in the last 32 bits of an IPv6 one (how mapped, compatible and NAT64 forms carry it). */
export function embeddedIPv4(address: IpAddress & { family: 6 }): IpAddress {
  const [, , , , , , high = 0, low = 0] = address.hextets;
  return ipv4([high >> 8, high & 0xff, low >> 8, low & 0xff]);
}

/** `::ffff:a.b.c.d`: on a dual-stack socket, a connection to it is a connection to a.b.c.d. */
export function isIPv4Mapped(address: IpAddress): address is IpAddress & { family: 6 } {
  return address.family === 6 && address.hextets.slice(0, 6).every((group, i) => group === (i === 5 ? 0xffff : 0));
}

/** The network address of `address/prefix`: every bit after the prefix cleared. */
export function networkOf(address: IpAddress, prefix: number): IpAddress {
  const width = address.family === 4 ? 8 : 16;
  const parts = address.family === 4 ? address.bytes : address.hextets;
  const masked = parts.map((part, i) => {
    const kept = Math.min(Math.max(prefix - i * width, 0), width);
    return kept === 0 ? 0 : part & (((1 << kept) - 1) << (width - kept));
  });
  return address.family === 4 ? ipv4(masked) : ipv6(masked);
}
