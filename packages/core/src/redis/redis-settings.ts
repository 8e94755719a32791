import { FerryError } from '@ferry/contract';
import { listEntries } from '../list-entries.js';
import { redactUserinfo } from '../redact-url.js';

/** A host and port, as Redis Cluster seeds and sentinels are given. */
export interface RedisAddress {
  readonly host: string;
  readonly port: number;
}

/**
 * Where the queue's Redis is and how to log in, in one of three shapes:
 * one server (REDIS_URL), a Redis Cluster (FERRY_REDIS_CLUSTER_NODES) or a
 * master found through sentinels (FERRY_REDIS_SENTINELS).
 */
export type RedisTopology =
  | { readonly mode: 'single'; readonly url: string | undefined }
  | { readonly mode: 'cluster'; readonly nodes: readonly RedisAddress[]; readonly tls: boolean }
  | {
      readonly mode: 'sentinel';
      readonly sentinels: readonly RedisAddress[];
      readonly masterName: string;
      readonly sentinelPassword: string | undefined;
    };

export interface RedisSettings {
  readonly topology: RedisTopology;
  /** FERRY_REDIS_USERNAME / FERRY_REDIS_PASSWORD, or those of the URLs; the same for every data node. */
  readonly username: string | undefined;
  readonly password: string | undefined;
  /** FERRY_REDIS_TLS_CA_FILE: the CA that signed the servers' certificates, when it is not one Node trusts already. */
  readonly tlsCaFile: string | undefined;
}

const isRedisScheme = (protocol: string) => protocol === 'redis:' || protocol === 'rediss:';

function parseAddress(entry: string, defaultPort: number, variable: string): RedisAddress {
  const match = /^\[?([^\]\s]+?)\]?(?::(\d{1,5}))?$/.exec(entry);
  const port = Number(match?.[2] ?? defaultPort);
  if (match === null || !(port >= 1 && port <= 65535)) {
    throw new FerryError(
      'FERRY_ERR_CONFIG',
      `${variable} must be a comma-separated list of host:port, e.g. 10.0.0.1:${defaultPort},10.0.0.2:${defaultPort} (got "${entry}")`,
    );
  }
  return { host: match[1]!, port };
}

/** FERRY_REDIS_CLUSTER_NODES: `redis://` or `rediss://` URLs of a few cluster nodes; the first one's user and password log in to every node. */
function parseClusterNodes(text: string): { nodes: RedisAddress[]; tls: boolean; username?: string; password?: string } {
  const urls = listEntries(text).map((entry) => {
    let url: URL;
    try {
      url = new URL(entry);
    } catch {
      url = new URL('invalid:');
    }
    if (!isRedisScheme(url.protocol) || url.hostname === '') {
      throw new FerryError(
        'FERRY_ERR_CONFIG',
        `FERRY_REDIS_CLUSTER_NODES must be a comma-separated list of redis:// or rediss:// URLs of cluster nodes, e.g. redis://10.0.0.1:7000,redis://10.0.0.2:7000 (got "${redactUserinfo(entry)}")`,
      );
    }
    return url;
  });
  if (urls.length === 0) throw new FerryError('FERRY_ERR_CONFIG', 'FERRY_REDIS_CLUSTER_NODES is empty: list at least one node, e.g. redis://10.0.0.1:7000');
  const tls = urls[0]!.protocol === 'rediss:';
  if (urls.some((url) => (url.protocol === 'rediss:') !== tls)) {
    throw new FerryError(
      'FERRY_ERR_CONFIG',
      'FERRY_REDIS_CLUSTER_NODES mixes redis:// and rediss:// URLs: a cluster uses TLS on every node or on none; write them all alike.',
    );
  }
  const first = urls[0]!;
  return {
    nodes: urls.map((url) => ({ host: url.hostname.replace(/^\[|\]$/g, ''), port: Number(url.port || 6379) })),
    tls,
    ...(first.username === '' ? {} : { username: decodeURIComponent(first.username) }),
    ...(first.password === '' ? {} : { password: decodeURIComponent(first.password) }),
  };
}

/** The environment variables that say where Redis is, already checked one by one by the config schema. */
export interface RedisEnv {
  readonly REDIS_URL?: string | undefined;
  readonly FERRY_REDIS_CLUSTER_NODES?: string | undefined;
  readonly FERRY_REDIS_SENTINELS?: string | undefined;
  readonly FERRY_REDIS_SENTINEL_MASTER?: string | undefined;
  readonly FERRY_REDIS_SENTINEL_PASSWORD?: string | undefined;
  readonly FERRY_REDIS_USERNAME?: string | undefined;
  readonly FERRY_REDIS_PASSWORD?: string | undefined;
  readonly FERRY_REDIS_TLS_CA_FILE?: string | undefined;
}

/** Reads where Redis is; more than one of REDIS_URL, FERRY_REDIS_CLUSTER_NODES and FERRY_REDIS_SENTINELS is refused, as Ferry could not know which one is meant. */
export function parseRedisSettings(env: RedisEnv): RedisSettings {
  const given = (['REDIS_URL', 'FERRY_REDIS_CLUSTER_NODES', 'FERRY_REDIS_SENTINELS'] as const).filter((name) => env[name] !== undefined);
  if (given.length > 1) {
    throw new FerryError(
      'FERRY_ERR_CONFIG',
      `${given.join(' and ')} are both set: Ferry talks to one Redis; keep the one that describes yours and unset the other.`,
    );
  }
  const explicit = { username: env.FERRY_REDIS_USERNAME, password: env.FERRY_REDIS_PASSWORD, tlsCaFile: env.FERRY_REDIS_TLS_CA_FILE };
  if (env.FERRY_REDIS_CLUSTER_NODES !== undefined) {
    const { nodes, tls, username, password } = parseClusterNodes(env.FERRY_REDIS_CLUSTER_NODES);
    return { topology: { mode: 'cluster', nodes, tls }, ...explicit, username: explicit.username ?? username, password: explicit.password ?? password };
  }
  if (env.FERRY_REDIS_SENTINELS !== undefined) {
    if (env.FERRY_REDIS_SENTINEL_MASTER === undefined) {
      throw new FerryError(
        'FERRY_ERR_CONFIG',
        'FERRY_REDIS_SENTINELS is set but FERRY_REDIS_SENTINEL_MASTER is not: set it to the master name the sentinels monitor (`sentinel monitor <name> …` in sentinel.conf, often mymaster).',
      );
    }
    const sentinels = listEntries(env.FERRY_REDIS_SENTINELS).map((entry) => parseAddress(entry, 26379, 'FERRY_REDIS_SENTINELS'));
    return {
      topology: {
        mode: 'sentinel',
        sentinels,
        masterName: env.FERRY_REDIS_SENTINEL_MASTER,
        sentinelPassword: env.FERRY_REDIS_SENTINEL_PASSWORD,
      },
      ...explicit,
    };
  }
  return { topology: { mode: 'single', url: env.REDIS_URL }, ...explicit };
}

/** A hash tag (`{…}` with something inside) makes Redis Cluster put every key that carries it in one slot. */
export function hasHashTag(prefix: string): boolean {
  // As Redis reads a key: the text between the first `{` and the next `}`, if not empty.
  const open = prefix.indexOf('{');
  return open >= 0 && prefix.indexOf('}', open + 1) > open + 1;
}

/**
 * The key prefix: FERRY_QUEUE_PREFIX, or `ferry` (`{ferry}` on a cluster). On a cluster
 * every Lua script BullMQ and Ferry run touches many keys of one queue at once, which
 * Redis Cluster allows only within one slot: a prefix without a hash tag is refused.
 */
export function resolveQueuePrefix(prefix: string | undefined, topology: RedisTopology): string {
  if (topology.mode !== 'cluster') return prefix ?? 'ferry';
  if (prefix === undefined) return '{ferry}';
  if (!hasHashTag(prefix)) {
    throw new FerryError(
      'FERRY_ERR_CONFIG',
      `FERRY_QUEUE_PREFIX "${prefix}" has no hash tag, so on a Redis Cluster a queue's keys would spread over slots and its scripts would fail with CROSSSLOT. Wrap it in braces: FERRY_QUEUE_PREFIX={${prefix.replace(/[{}]/g, '')}} (or leave it unset for {ferry}).`,
    );
  }
  return prefix;
}
