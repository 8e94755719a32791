import { FerryError } from '@ferry/contract';
import type { RedisClient } from './connections.js';

// What Redis answers a login it refuses: a wrong password or user (WRONGPASS), none where one is needed (NOAUTH).
const LOGIN_REFUSED = /\b(WRONGPASS|NOAUTH)\b/;
// Node's codes for a server certificate it does not trust or that names another host.
const CERTIFICATE_REFUSED = /CERT|SELF_SIGNED|UNABLE_TO_(GET|VERIFY)/;

/** Why no retry can get in, or undefined for an outage, which waiting mends. */
function refusal(err: Error): FerryError | undefined {
  if (LOGIN_REFUSED.test(err.message)) {
    return new FerryError(
      'FERRY_ERR_CONFIG',
      `Redis refused Ferry's login (${err.message.replace(/\.$/, '')}). Check FERRY_REDIS_USERNAME and FERRY_REDIS_PASSWORD, or the user:password in REDIS_URL or FERRY_REDIS_CLUSTER_NODES, and that the ACL user is on (e.g. ACL SETUSER ferry on >password ~* &* +@all).`,
      { cause: err },
    );
  }
  const code = (err as NodeJS.ErrnoException).code;
  if (code !== undefined && CERTIFICATE_REFUSED.test(code)) {
    return new FerryError(
      'FERRY_ERR_CONFIG',
      `Redis's TLS certificate is not trusted (${code}: ${err.message}). If a private CA signed it, set FERRY_REDIS_TLS_CA_FILE to that CA's PEM file; the host in the URL must be one the certificate names.`,
      { cause: err },
    );
  }
  return undefined;
}

/**
 * Resolves once `redis` is ready, or fails for a reason that may pass (an
 * outage, which the caller waits out or reports); rejects with a
 * FERRY_ERR_CONFIG when Redis refuses the credentials or its certificate is not
 * trusted, which no waiting mends.
 */
export function checkRedisAccess(redis: RedisClient): Promise<void> {
  if (redis.status === 'ready') return Promise.resolve();
  return new Promise((resolve, reject) => {
    const settle = (then: () => void) => {
      redis.off('ready', onReady);
      redis.off('error', onError);
      then();
    };
    const onReady = () => settle(resolve);
    const onError = (err: Error) => {
      const refused = refusal(err);
      settle(() => (refused === undefined ? resolve() : reject(refused)));
    };
    redis.on('ready', onReady);
    redis.on('error', onError);
  });
}
