import { FerryError } from '@ferry/contract';
import { parseCidr } from '@ferry/engine';
import { listEntries } from './list-entries.js';

/** Whose X-Forwarded-For the API believes (Fastify's `trustProxy`): nobody's, the last `hops` proxies', or proxies at these networks. */
export type TrustProxy = false | number | readonly string[];

const MAX_HOPS = 10;
const HOW = `must be false, a number of proxy hops (1-${MAX_HOPS}) in front of the API, or a comma-separated list of the proxies' addresses or CIDRs, e.g. 10.0.0.5 or 10.0.0.0/8,fd00::/8`;

/**
 * Parses FERRY_API_TRUST_PROXY. `true` (trust every hop) is refused: the
 * client's own X-Forwarded-For entries would then name the client, so anyone
 * could pick the address the failed-login limit counts.
 */
export function parseTrustProxy(text: string): TrustProxy {
  const trimmed = text.trim();
  if (trimmed === 'false') return false;
  if (trimmed === 'true') {
    throw new FerryError('FERRY_ERR_CONFIG', `${HOW}; true would believe addresses a client writes into X-Forwarded-For itself`);
  }
  if (/^\d+$/.test(trimmed)) {
    const hops = Number(trimmed);
    if (hops < 1 || hops > MAX_HOPS) throw new FerryError('FERRY_ERR_CONFIG', `${HOW}; ${trimmed} hops is out of range`);
    return hops;
  }
  return listEntries(trimmed).map((entry) => {
    try {
      const { address, prefix } = parseCidr(entry);
      return `${address.text}/${prefix}`;
    } catch (err) {
      throw new FerryError('FERRY_ERR_CONFIG', `${HOW}: ${(err as Error).message}`);
    }
  });
}
