import { FerryError } from '@ferry/contract';
import { embeddedIPv4, isIPv4Mapped, parseIp } from '@ferry/engine';
import { isKeyName } from '../api-keys.js';
import { listEntries } from '../list-entries.js';

/**
 * The host a download is limited by: its request URL's `host` as the WHATWG URL
 * parser writes it (lowercase, IDNA to punycode, IPv6 in brackets), without a
 * trailing dot, and with its port unless that is 80 or 443: http and https to one
 * name are one origin server to protect. So `HTTPS://Bücher.Example.:443/a` and
 * `http://xn--bcher-kva.example/b` share a limit, while `http://example.com:8080` is a
 * host of its own. An IPv4-mapped IPv6 literal (`[::ffff:a.b.c.d]`) is named by its IPv4
 * address: a connection to it reaches that server, so it must not be a way around its limit.
 * Undefined for a URL that does not parse.
 */
export function limitHost(url: string): string | undefined {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    return undefined;
  }
  const { hostname, port } = parsed;
  const ip = parseIp(hostname);
  const name = ip !== undefined && isIPv4Mapped(ip) ? embeddedIPv4(ip).text : hostname.endsWith('.') ? hostname.slice(0, -1) : hostname;
  return port === '' || port === '80' || port === '443' ? name : `${name}:${port}`;
}

/** Reads `name=N` entries (comma-separated) into a map; `nameOf` normalises a name or says what is wrong with it. */
function parseLimits(text: string, what: string, example: string, nameOf: (name: string) => string | Error): Map<string, number> {
  const limits = new Map<string, number>();
  for (const entry of listEntries(text)) {
    const at = entry.lastIndexOf('=');
    const name = entry.slice(0, at).trim();
    const value = entry.slice(at + 1).trim();
    const fail = (problem: string) =>
      new FerryError('FERRY_ERR_CONFIG', `must be a comma-separated list of ${what}=N entries such as ${example}: "${entry}" ${problem}`);
    if (at <= 0 || !/^\d{1,6}$/.test(value) || Number(value) < 1) throw fail('is not a name, "=" and a whole number from 1 to 999999');
    const normalised = nameOf(name);
    if (normalised instanceof Error) throw fail(normalised.message);
    if (limits.has(normalised)) throw fail(`names ${normalised} a second time`);
    limits.set(normalised, Number(value));
  }
  return limits;
}

/** FERRY_HOST_CONCURRENCY_OVERRIDES: host names (with a port when not 80 or 443) normalised as `limitHost` does. */
export function parseHostLimits(text: string): Map<string, number> {
  return parseLimits(text, 'host', 'cdn.example.com=32,slow.example.org=2', (name) => {
    if (/[/@\s\\?#*]/.test(name))
      return new Error('is not a bare host name; leave out the scheme, path and wildcards (a port may follow, as in files.example:8080)');
    return limitHost(`http://${name}/`) ?? new Error('is not a valid host name');
  });
}

/** FERRY_KEY_CONCURRENCY_OVERRIDES: the names of API keys (as in FERRY_API_KEYS). */
export function parseKeyLimits(text: string): Map<string, number> {
  return parseLimits(text, 'key name', 'batch-importer=2,web=16', (name) => (isKeyName(name) ? name : new Error('is not an API key name')));
}
