import { FerryError } from '../errors.js';
import type { AddressCategory } from './address-policy.js';

/** Why a destination is refused: the category of its address, or what is wrong with the URL itself. */
export type BlockReason = AddressCategory | 'scheme' | 'userinfo' | 'control-character' | 'backslash' | 'port' | 'downgrade';

/**
 * The one error every egress refusal becomes. `message` may name what the caller
 * sent, never an address a resolver returned: those would map the private network
 * for whoever is probing it.
 */
export function blockedDestination(reason: BlockReason, message: string): FerryError {
  return new FerryError('FERRY_ERR_BLOCKED_DESTINATION', `destination refused (${reason}): ${message}`, { data: { reason } });
}

/**
 * Ends a refusal that the operator could lift: the caller cannot change Ferry's
 * settings, but can ask for the right one. Names settings, never addresses.
 */
export function unlessOperatorAllows(what: string): string {
  return `Ferry fetches only from public addresses on ports 80 and 443, unless its operator allows ${what}`;
}

const ARTICLE: Partial<Record<AddressCategory, string>> = { 'ietf-protocol': 'an', 'ipv4-compatible': 'an', 'ipv4-translated': 'an' };

/** "a loopback address", "an ipv4-compatible address": the phrase that follows a host in refusal messages. */
export function describeCategory(reason: AddressCategory): string {
  return `${ARTICLE[reason] ?? 'a'} ${reason} address`;
}
