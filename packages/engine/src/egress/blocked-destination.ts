import { FerryError } from '@ferry/contract';
import type { AddressCategory } from './address-policy.js';

/** Why a destination is refused: the category of its address, or what is wrong with the URL itself. */
export type BlockReason = AddressCategory | 'scheme' | 'userinfo' | 'control-character' | 'backslash' | 'port' | 'downgrade';

/** A refusal no setting lifts (a scheme, userinfo, a downgrade…); see refusedUnlessAllowed for the others. */
export function blockedDestination(reason: BlockReason, message: string): FerryError {
  return refusal([reason], message);
}

/**
 * The one error every egress refusal becomes: `data.reason` is the first of
 * `reasons`, the message shows them all. `message` may name what the caller sent,
 * never an address a resolver returned: those would map the private network for
 * whoever is probing it.
 */
function refusal(reasons: readonly [BlockReason, ...BlockReason[]], message: string): FerryError {
  return new FerryError('FERRY_ERR_BLOCKED_DESTINATION', `destination refused (${reasons.join(', ')}): ${message}`, { data: { reason: reasons[0] } });
}

/** One rule a destination breaks that the operator could lift. */
export interface LiftableRefusal {
  readonly reason: BlockReason;
  /** What is wrong, in terms of what the caller sent: "port 8080 is not allowed". */
  readonly problem: string;
  /** The setting that would lift it: "the port in FERRY_EGRESS_ALLOW_PORTS". */
  readonly lift: string;
}

/** What lets a host name through whose addresses are not public. */
export const ADDRESS_LIFT = 'the network in FERRY_EGRESS_ALLOW_CIDRS or the name in FERRY_EGRESS_ALLOW_HOSTS';

/**
 * The refusal of a destination that breaks rules the operator could lift. The
 * caller cannot change Ferry's settings but can ask for the right ones, so every
 * rule broken is named at once (`data.reason` is the first): asked one refusal at
 * a time, an operator fixes the port only to meet the address next. `note` is
 * added as it is. Names settings, never addresses.
 */
export function refusedUnlessAllowed(refusals: readonly [LiftableRefusal, ...LiftableRefusal[]], note = ''): FerryError {
  const [first, ...more] = refusals;
  const problems = refusals.map(({ problem }) => problem).join(' and ');
  const lifts = refusals.map(({ lift }) => lift).join(' and ');
  return refusal(
    [first.reason, ...more.map(({ reason }) => reason)],
    `${problems}; Ferry fetches only from public addresses on ports 80 and 443, unless its operator allows ${lifts}${note}`,
  );
}

const ARTICLE: Partial<Record<AddressCategory, string>> = { 'ietf-protocol': 'an', 'ipv4-compatible': 'an', 'ipv4-translated': 'an' };

/** "a loopback address", "an ipv4-compatible address": the phrase that follows a host in refusal messages. */
export function describeCategory(reason: AddressCategory): string {
  return `${ARTICLE[reason] ?? 'a'} ${reason} address`;
}
