import { FerryError } from '@ferry/contract';
import type { RedisClient } from './connections.js';

// What Redis answers a login it refuses: a wrong password or user (WRONGPASS), none where one is needed (NOAUTH).
const LOGIN_REFUSED = /\b(WRONGPASS|NOAUTH)\b/;

/**
 * Resolves once `redis` is ready, or fails for another reason than its login
 * (an outage, which the caller waits out or reports); rejects with a
 * FERRY_ERR_CONFIG when Redis refuses the credentials, which no waiting mends.
 */
export function checkRedisLogin(redis: RedisClient): Promise<void> {
  if (redis.status === 'ready') return Promise.resolve();
  return new Promise((resolve, reject) => {
    const settle = (then: () => void) => {
      redis.off('ready', onReady);
      redis.off('error', onError);
      then();
    };
    const onReady = () => settle(resolve);
    const onError = (err: Error) =>
      settle(() =>
        LOGIN_REFUSED.test(err.message)
          ? reject(
              new FerryError(
                'FERRY_ERR_CONFIG',
                `Redis refused Ferry's login (${err.message}). Check FERRY_REDIS_USERNAME and FERRY_REDIS_PASSWORD, or the user:password in REDIS_URL or FERRY_REDIS_CLUSTER_NODES, and that the ACL user is on (e.g. ACL SETUSER ferry on >password ~* &* +@all).`,
                { cause: err },
              ),
            )
          : resolve(),
      );
    redis.on('ready', onReady);
    redis.on('error', onError);
  });
}
