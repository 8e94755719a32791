import { readFileSync } from 'node:fs';
import { FerryError } from '@ferry/contract';
import { Cluster, Redis, type RedisOptions } from 'ioredis';
import type { RedisSettings } from './redis-settings.js';

const DEFAULT_REDIS_URL = 'redis://127.0.0.1:6379';

/** A connection to the queue's Redis: one server (alone or behind sentinels) or a Redis Cluster. */
export type RedisClient = Redis | Cluster;

/** TLS settings for a `rediss://` connection: Node's trusted CAs, plus FERRY_REDIS_TLS_CA_FILE's. */
function tlsOptions(settings: RedisSettings): NonNullable<RedisOptions['tls']> {
  if (settings.tlsCaFile === undefined) return {};
  try {
    return { ca: readFileSync(settings.tlsCaFile, 'utf8') };
  } catch (err) {
    throw new FerryError(
      'FERRY_ERR_CONFIG',
      `FERRY_REDIS_TLS_CA_FILE ${settings.tlsCaFile} cannot be read (${(err as Error).message}): give the path of a PEM file with the CA certificate.`,
    );
  }
}

/**
 * The one place a connection to the queue's Redis is made, whichever shape it
 * has: every connection of the API and the workers (BullMQ's included, which
 * duplicate these) gets the same nodes, credentials and TLS.
 */
function connect(settings: RedisSettings, options: RedisOptions): RedisClient {
  const credentials: RedisOptions = {
    ...(settings.username === undefined ? {} : { username: settings.username }),
    ...(settings.password === undefined ? {} : { password: settings.password }),
  };
  const { topology } = settings;
  switch (topology.mode) {
    case 'single': {
      const url = topology.url ?? DEFAULT_REDIS_URL;
      return new Redis(url, { ...options, ...credentials, ...(url.startsWith('rediss:') ? { tls: tlsOptions(settings) } : {}) });
    }
    case 'sentinel':
      return new Redis({
        ...options,
        ...credentials,
        sentinels: topology.sentinels.map(({ host, port }) => ({ host, port })),
        name: topology.masterName,
        ...(topology.sentinelPassword === undefined ? {} : { sentinelPassword: topology.sentinelPassword }),
      });
    case 'cluster': {
      // A cluster's own options (offline queue, retries) sit beside the per-node ones.
      const { enableOfflineQueue, retryStrategy, ...perNode } = options;
      return new Cluster(
        topology.nodes.map(({ host, port }) => ({ host, port })),
        {
          redisOptions: { ...perNode, ...credentials, ...(topology.tls ? { tls: tlsOptions(settings) } : {}) },
          ...(enableOfflineQueue === undefined ? {} : { enableOfflineQueue }),
          ...(retryStrategy === undefined ? {} : { clusterRetryStrategy: retryStrategy }),
        },
      );
    }
  }
}

/**
 * For workers and other long-lived consumers: commands wait through a Redis
 * restart instead of failing, as BullMQ requires for its blocking connections.
 */
export function createWorkerRedis(settings: RedisSettings, options: RedisOptions = {}): RedisClient {
  return connect(settings, { maxRetriesPerRequest: null, ...options });
}

/**
 * For the API's producer: when Redis is down a command fails at once, so a
 * caller gets a 503 instead of a request that hangs until its own timeout.
 */
export function createProducerRedis(settings: RedisSettings, options: RedisOptions = {}): RedisClient {
  return connect(settings, {
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
    /Stream isn't writeable|Connection is closed|enableOfflineQueue|Failed to refresh slots cache|CLUSTERDOWN|READONLY|TRYAGAIN/i.test(err.message)
  );
}
