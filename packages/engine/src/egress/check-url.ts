import { normalizeHostname, type EgressPolicy } from './address-policy.js';
import { ADDRESS_LIFT, blockedDestination, describeCategory, refusedUnlessAllowed, type LiftableRefusal } from './blocked-destination.js';
import { parseIp } from './ip-address.js';

const DEFAULT_PORTS: Readonly<Record<string, number>> = { 'http:': 80, 'https:': 443 };
// The URL parser silently drops tabs and newlines, so only the raw text shows them;
// other parsers (proxies, logs, the origin) may not drop them the same way.
function hasControlCharacter(text: string): boolean {
  for (let i = 0; i < text.length; i += 1) {
    const code = text.charCodeAt(i);
    if (code < 0x20 || code === 0x7f) return true;
  }
  return false;
}
// The URL parser reads "\" as "/" in http(s) URLs but other parsers do not, so
// `http://evil.example\@10.0.0.1/` means different hosts to different readers.
const BACKSLASH_BEFORE_QUERY = /^[^?#]*\\/;
// RFC 6761: these names are loopback whatever DNS says, and resolvers may answer them from /etc/hosts.
const LOOPBACK_NAME = /(^|\.)localhost$/;

/**
 * Refuses a URL a worker must not fetch, before any connection: a scheme other
 * than http(s), userinfo, control characters or backslashes in `raw`, a port
 * outside the policy, or a host that is a non-public IP literal or a localhost
 * name. Host names that need DNS are left to the guarded lookup, which checks the
 * addresses the connection will actually use. `raw` is the text the URL was
 * parsed from, when there was one (a request body, a Location header).
 */
export function checkUrl(url: URL, policy: EgressPolicy, raw: string = url.href): void {
  if (hasControlCharacter(raw)) {
    throw blockedDestination('control-character', 'the URL contains a control character (CR, LF, tab or similar); percent-encode it');
  }
  if (BACKSLASH_BEFORE_QUERY.test(raw)) {
    throw blockedDestination('backslash', 'the URL contains a backslash before its query; write "/" or percent-encode it as %5C');
  }
  if (url.username !== '' || url.password !== '') {
    throw blockedDestination('userinfo', 'URLs with a user name or password are not fetched; send credentials in a header instead');
  }
  checkEndpoint(url, policy);
}

/**
 * The part of checkUrl that a connector can repeat, since it sees a URL's
 * protocol, port (empty for the default) and host name but not the URL. The
 * port and the host are both judged before refusing, so one refusal names every
 * setting the destination needs.
 */
export function checkEndpoint({ protocol, port, hostname }: { protocol: string; port: string; hostname: string }, policy: EgressPolicy): void {
  const defaultPort = DEFAULT_PORTS[protocol];
  if (defaultPort === undefined) throw blockedDestination('scheme', `only http: and https: URLs are fetched, not ${protocol}`);
  const number = port === '' ? defaultPort : Number(port);
  const refusals: LiftableRefusal[] = [];
  if (!policy.allowsPort(number)) refusals.push({ reason: 'port', problem: `port ${number} is not allowed`, lift: 'the port in FERRY_EGRESS_ALLOW_PORTS' });
  const host = hostRefusal(hostname, policy);
  if (host !== undefined) refusals.push(host);
  const [first, ...more] = refusals;
  if (first === undefined) return;
  throw refusedUnlessAllowed([first, ...more], host === undefined ? unresolvedNote(hostname, policy) : '');
}

/**
 * A name's addresses are judged only once a worker resolves it, too late for a
 * refusal of its port: say what they would need if they are not public.
 */
function unresolvedNote(hostname: string, policy: EgressPolicy): string {
  if (parseIp(hostname) !== undefined || policy.allowsHost(hostname)) return '';
  return `; should ${hostname} resolve to an address that is not public, also ${ADDRESS_LIFT}`;
}

/** What is wrong with the host itself, as far as can be told without DNS. */
function hostRefusal(hostname: string, policy: EgressPolicy): LiftableRefusal | undefined {
  const literal = parseIp(hostname);
  if (literal !== undefined) {
    const verdict = policy.checkAddress(literal.text);
    if (verdict.allowed) return undefined;
    return { reason: verdict.reason, problem: `${hostname} is ${describeCategory(verdict.reason)}`, lift: 'the network in FERRY_EGRESS_ALLOW_CIDRS' };
  }
  const name = normalizeHostname(hostname);
  if (LOOPBACK_NAME.test(name) && !policy.allowsHost(name) && !policy.checkAddress('127.0.0.1').allowed) {
    return { reason: 'loopback', problem: `${hostname} is a loopback name`, lift: 'the name in FERRY_EGRESS_ALLOW_HOSTS' };
  }
  return undefined;
}
