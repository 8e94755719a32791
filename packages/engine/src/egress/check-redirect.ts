import type { EgressPolicy } from './address-policy.js';
import { blockedDestination } from './blocked-destination.js';
import { checkUrl } from './check-url.js';

/**
 * Every redirect hop is a new destination chosen by someone else, so it gets the
 * whole of checkUrl again, plus one rule of its own: a download that started over
 * TLS never continues in clear text. `location` is the header's raw value.
 */
export function checkRedirect(from: URL, to: URL, policy: EgressPolicy, location: string): void {
  if (from.protocol === 'https:' && to.protocol === 'http:') {
    throw blockedDestination('downgrade', `${from.host} redirected from https to http, which is not followed`);
  }
  checkUrl(to, policy, location);
}
