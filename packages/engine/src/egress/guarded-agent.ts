import { Agent, buildConnector } from 'undici';
import type { EgressPolicy } from './address-policy.js';
import { checkEndpoint } from './check-url.js';
import { createGuardedLookup, systemResolver, type Resolver } from './guarded-lookup.js';

export interface GuardedAgentOptions {
  /** Time to resolve, connect and finish the TLS handshake. */
  readonly connectTimeoutMs: number;
  readonly policy: EgressPolicy;
  /** @defaultValue the system resolver */
  readonly resolve?: Resolver;
}

/**
 * An undici Agent that can only reach what the policy allows. Host names go
 * through the guarded lookup; IP literals and ports are checked here as well,
 * because Node skips `lookup` for literals and a caller that forgot checkUrl
 * must still not get through. TLS keeps the URL's host name as servername and
 * the Host header is untouched: only the address comes from the check.
 */
export function createGuardedAgent({ connectTimeoutMs, policy, resolve = systemResolver }: GuardedAgentOptions): Agent {
  const connect = buildConnector({ timeout: connectTimeoutMs, lookup: createGuardedLookup(policy, resolve) });
  return new Agent({
    connect: (options, callback) => {
      try {
        checkEndpoint(options, policy);
      } catch (err) {
        callback(err as Error, null);
        return;
      }
      connect(options, callback);
    },
  });
}
