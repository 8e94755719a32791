import { Redis, type RedisOptions } from 'ioredis';

const DEFAULT_REDIS_URL = 'redis://127.0.0.1:6379';

/**
 * For workers and other long-lived consumers: commands wait through a Redis
 * restart instead of failing, as BullMQ requires for its blocking connections.
 */
export function createWorkerRedis(url: string | undefined, options: RedisOptions = {}): Redis {
  return new Redis(url ?? DEFAULT_REDIS_URL, { maxRetriesPerRequest: null, ...options });
}

/**
 * For the API's producer: when Redis is down a command fails at once, so a
 * caller gets a 503 instead of a request that hangs until its own timeout.
 */
export function createProducerRedis(url: string | undefined, options: RedisOptions = {}): Redis {
  return new Redis(url ?? DEFAULT_REDIS_URL, {
    enableOfflineQueue: false,
    maxRetriesPerRequest: 1,
    connectTimeout: 2000,
    retryStrategy: (times) => Math.min(times * 200, 2000),
    ...options,
  });
}

/** Whether a thrown error means "Redis could not be reached", as opposed to a command that Redis rejected. */
export function isRedisUnavailableError(err: unknown): boolean {
  if (!(err instanceof Error)) return false;
  const code = (err as NodeJS.ErrnoException).code;
  return (
    err.name === 'MaxRetriesPerRequestError' ||
    code === 'ECONNREFUSED' ||
    code === 'ECONNRESET' ||
    code === 'ETIMEDOUT' ||
    /Stream isn't writeable|Connection is closed|enableOfflineQueue/i.test(err.message)
  );
}
