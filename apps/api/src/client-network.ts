import { embeddedIPv4, isIPv4Mapped, networkOf, parseIp } from '@ferry/engine';

/** The IPv6 prefix one subscriber, host or site is given whole: its addresses are one client's. */
const IPV6_CLIENT_PREFIX = 64;

/**
 * The client a connection's address stands for, for counting what a client does:
 * an IPv4 address (also when mapped into IPv6), or an IPv6 address's /64. Whoever
 * has one IPv6 address can use any of its /64's 2^64, so counting per address would
 * give them a fresh count for each request. Text that is no address is its own client.
 */
export function clientNetwork(address: string): string {
  const ip = parseIp(address);
  if (ip === undefined) return address;
  if (ip.family === 4) return ip.text;
  if (isIPv4Mapped(ip)) return embeddedIPv4(ip).text;
  return `${networkOf(ip, IPV6_CLIENT_PREFIX).text}/${IPV6_CLIENT_PREFIX}`;
}
