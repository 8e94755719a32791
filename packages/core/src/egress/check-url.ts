import { normalizeHostname, type EgressPolicy } from './address-policy.js';
import { blockedDestination, describeCategory, unlessOperatorAllows } from './blocked-destination.js';
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
 * protocol, port (empty for the default) and host name but not the URL.
 */
export function checkEndpoint({ protocol, port, hostname }: { protocol: string; port: string; hostname: string }, policy: EgressPolicy): void {
  const defaultPort = DEFAULT_PORTS[protocol];
  if (defaultPort === undefined) throw blockedDestination('scheme', `only http: and https: URLs are fetched, not ${protocol}`);
  const number = port === '' ? defaultPort : Number(port);
  if (!policy.allowsPort(number)) {
    throw blockedDestination('port', `port ${number} is not allowed; ${unlessOperatorAllows('the port in FERRY_EGRESS_ALLOW_PORTS')}`);
  }
  checkHost(hostname, policy);
}

function checkHost(hostname: string, policy: EgressPolicy): void {
  const literal = parseIp(hostname);
  if (literal !== undefined) {
    const verdict = policy.checkAddress(literal.text);
    if (!verdict.allowed) {
      throw blockedDestination(verdict.reason, `${hostname} is ${describeCategory(verdict.reason)}; ${unlessOperatorAllows('the network in FERRY_EGRESS_ALLOW_CIDRS')}`);
    }
    return;
  }
  const name = normalizeHostname(hostname);
  if (LOOPBACK_NAME.test(name) && !policy.allowsHost(name) && !policy.checkAddress('127.0.0.1').allowed) {
    throw blockedDestination('loopback', `${hostname} is a loopback name; ${unlessOperatorAllows('the name in FERRY_EGRESS_ALLOW_HOSTS')}`);
  }
}
