import { isIP } from 'node:net';
import { FerryError } from '../errors.js';
import { normalizeHostname, parseCidr, type EgressPolicyOptions, type PortRule } from './address-policy.js';

/** The environment variables an operator opens the egress guard with; unset, nothing private is reachable. */
export const EGRESS_VARIABLES = {
  allowCidrs: 'FERRY_EGRESS_ALLOW_CIDRS',
  allowHosts: 'FERRY_EGRESS_ALLOW_HOSTS',
  allowPorts: 'FERRY_EGRESS_ALLOW_PORTS',
} as const;

function entries(text: string): string[] {
  return text
    .split(',')
    .map((entry) => entry.trim())
    .filter((entry) => entry !== '');
}

/**
 * Each parser takes a comma-separated list and throws a FERRY_ERR_CONFIG whose
 * message reads on from the variable's name ("FERRY_EGRESS_ALLOW_CIDRS must ...").
 */
export function parseCidrList(text: string): string[] {
  return entries(text).map((entry) => {
    try {
      const { address, prefix } = parseCidr(entry);
      return `${address.text}/${prefix}`;
    } catch (err) {
      throw new FerryError('FERRY_ERR_CONFIG', `must be a comma-separated list of CIDRs: ${(err as Error).message}`);
    }
  });
}

export function parseHostList(text: string): string[] {
  return entries(text).map((entry) => {
    const fail = (problem: string) =>
      new FerryError('FERRY_ERR_CONFIG', `must be a comma-separated list of host names such as files.example.internal: "${entry}" ${problem}`);
    if (isIP(entry) !== 0 || entry.startsWith('[')) throw fail(`is an IP address; list addresses in ${EGRESS_VARIABLES.allowCidrs} instead, e.g. ${entry}/32`);
    if (/[/:@*\s\\?#]/.test(entry)) throw fail('is not a bare host name; leave out the scheme, port, path and wildcards');
    let hostname: string;
    try {
      hostname = new URL(`http://${entry}/`).hostname;
    } catch {
      throw fail('is not a valid host name');
    }
    // The URL parser would read "2130706433" as 127.0.0.1: a number is an address, not a name.
    if (isIP(hostname) !== 0) throw fail(`is read as the IP address ${hostname}; list addresses in ${EGRESS_VARIABLES.allowCidrs} instead`);
    return normalizeHostname(hostname);
  });
}

export function parsePortList(text: string): PortRule[] {
  return entries(text).map((entry) => {
    const match = /^(\d{1,5})(?:\s*-\s*(\d{1,5}))?$/.exec(entry);
    const from = Number(match?.[1]);
    const to = match?.[2] === undefined ? from : Number(match[2]);
    if (match === null || from < 1 || to > 65535 || from > to) {
      throw new FerryError(
        'FERRY_ERR_CONFIG',
        `must be a comma-separated list of ports (1-65535) or ranges such as 8000-8999: "${entry}" is neither`,
      );
    }
    return from === to ? from : { from, to };
  });
}

/**
 * Reads the three variables into policy options, reporting every bad one at once
 * in the same shape as loadConfig's messages.
 */
export function parseEgressConfig(env: Record<string, string | undefined>): EgressPolicyOptions {
  const problems: string[] = [];
  const read = <T>(name: string, parse: (text: string) => T[]): T[] => {
    const raw = env[name];
    if (raw === undefined) return [];
    try {
      return parse(raw);
    } catch (err) {
      problems.push(`  ${name} ${(err as Error).message} (got ${JSON.stringify(raw)})`);
      return [];
    }
  };
  const options = {
    allowCidrs: read(EGRESS_VARIABLES.allowCidrs, parseCidrList),
    allowHosts: read(EGRESS_VARIABLES.allowHosts, parseHostList),
    allowPorts: read(EGRESS_VARIABLES.allowPorts, parsePortList),
  };
  if (problems.length > 0) {
    throw new FerryError('FERRY_ERR_CONFIG', `Invalid configuration:\n${problems.join('\n')}\nFix the variables above in the environment or in .env.`);
  }
  return options;
}
