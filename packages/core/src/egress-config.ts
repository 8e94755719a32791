import { isIP } from 'node:net';
import { FerryError } from '@ferry/contract';
import { normalizeHostname, parseCidr, type PortRule } from '@ferry/engine';
import { listEntries } from './list-entries.js';

// Where an address belongs that someone put in the host list.
const ALLOW_CIDRS_VARIABLE = 'FERRY_EGRESS_ALLOW_CIDRS';

/**
 * Each parser takes a comma-separated list and throws a FERRY_ERR_CONFIG whose
 * message reads on from the variable's name ("FERRY_EGRESS_ALLOW_CIDRS must ...").
 */
export function parseCidrList(text: string): string[] {
  return listEntries(text).map((entry) => {
    try {
      const { address, prefix } = parseCidr(entry);
      return `${address.text}/${prefix}`;
    } catch (err) {
      throw new FerryError('FERRY_ERR_CONFIG', `must be a comma-separated list of CIDRs: ${(err as Error).message}`);
    }
  });
}

export function parseHostList(text: string): string[] {
  return listEntries(text).map((entry) => {
    const fail = (problem: string) =>
      new FerryError('FERRY_ERR_CONFIG', `must be a comma-separated list of host names such as files.example.internal: "${entry}" ${problem}`);
    if (isIP(entry) !== 0 || entry.startsWith('[')) throw fail(`is an IP address; list addresses in ${ALLOW_CIDRS_VARIABLE} instead, e.g. ${entry}/32`);
    if (/[/:@*\s\\?#]/.test(entry)) throw fail('is not a bare host name; leave out the scheme, port, path and wildcards');
    let hostname: string;
    try {
      hostname = new URL(`http://${entry}/`).hostname;
    } catch {
      throw fail('is not a valid host name');
    }
    // The URL parser would read "2130706433" as 127.0.0.1: a number is an address, not a name.
    if (isIP(hostname) !== 0) throw fail(`is read as the IP address ${hostname}; list addresses in ${ALLOW_CIDRS_VARIABLE} instead`);
    return normalizeHostname(hostname);
  });
}

export function parsePortList(text: string): PortRule[] {
  return listEntries(text).map((entry) => {
    const match = /^(\d{1,5})(?:\s*-\s*(\d{1,5}))?$/.exec(entry);
    const from = Number(match?.[1]);
    const to = match?.[2] === undefined ? from : Number(match[2]);
    if (match === null || from < 1 || to > 65535 || from > to) {
      throw new FerryError('FERRY_ERR_CONFIG', `must be a comma-separated list of ports (1-65535) or ranges such as 8000-8999: "${entry}" is neither`);
    }
    return from === to ? from : { from, to };
  });
}
