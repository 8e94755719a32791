import { describe, expect, it } from 'vitest';
import { loadConfig } from '../src/config.js';

const configError = (env: Record<string, string>): string => {
  try {
    loadConfig(env);
  } catch (err) {
    return (err as Error).message;
  }
  throw new Error('loadConfig accepted the configuration');
};

describe('where Redis is', () => {
  it('is one server at REDIS_URL by default, with the prefix ferry', () => {
    const config = loadConfig({ REDIS_URL: 'redis://10.0.0.5:6379' });
    expect(config.redis.topology).toEqual({ mode: 'single', url: 'redis://10.0.0.5:6379' });
    expect(config.queuePrefix).toBe('ferry');
  });

  it('is a cluster from FERRY_REDIS_CLUSTER_NODES, logging in with the first URL and prefixing every key with the {ferry} hash tag', () => {
    const config = loadConfig({ FERRY_REDIS_CLUSTER_NODES: 'rediss://app:p%40ss@10.0.0.1:7000, rediss://10.0.0.2' });
    expect(config.redis.topology).toEqual({
      mode: 'cluster',
      tls: true,
      nodes: [
        { host: '10.0.0.1', port: 7000 },
        { host: '10.0.0.2', port: 6379 },
      ],
    });
    expect(config.redis).toMatchObject({ username: 'app', password: 'p@ss' });
    expect(config.queuePrefix).toBe('{ferry}');
  });

  it('refuses a cluster prefix without a hash tag, and says how to write one', () => {
    expect(configError({ FERRY_REDIS_CLUSTER_NODES: 'redis://10.0.0.1:7000', FERRY_QUEUE_PREFIX: 'acme' })).toContain('FERRY_QUEUE_PREFIX={acme}');
    expect(configError({ FERRY_REDIS_CLUSTER_NODES: 'redis://10.0.0.1:7000', FERRY_QUEUE_PREFIX: '{}acme' })).toContain('no hash tag');
    expect(loadConfig({ FERRY_REDIS_CLUSTER_NODES: 'redis://10.0.0.1:7000', FERRY_QUEUE_PREFIX: 'acme-{q1}' }).queuePrefix).toBe('acme-{q1}');
  });

  it('refuses cluster nodes that are not Redis URLs, or that mix TLS and plain, without echoing a password', () => {
    const message = configError({ FERRY_REDIS_CLUSTER_NODES: 'http://u:secret@10.0.0.1:7000' });
    expect(message).toContain('redis:// or rediss:// URLs');
    expect(message).not.toContain('secret');
    expect(message).toContain('got "http://[redacted]@10.0.0.1:7000"');
    expect(configError({ FERRY_REDIS_CLUSTER_NODES: 'redis://10.0.0.1:7000,rediss://10.0.0.2:7000' })).toContain('mixes redis:// and rediss://');
  });

  it('is a master behind sentinels, which needs its name, with separate credentials for the master and the sentinels', () => {
    const config = loadConfig({
      FERRY_REDIS_SENTINELS: '10.0.0.1:26379,10.0.0.2',
      FERRY_REDIS_SENTINEL_MASTER: 'mymaster',
      FERRY_REDIS_SENTINEL_PASSWORD: 'sentinel-pw',
      FERRY_REDIS_PASSWORD: 'master-pw',
    });
    expect(config.redis.topology).toEqual({
      mode: 'sentinel',
      masterName: 'mymaster',
      sentinelPassword: 'sentinel-pw',
      sentinels: [
        { host: '10.0.0.1', port: 26379 },
        { host: '10.0.0.2', port: 26379 },
      ],
    });
    expect(config.redis.password).toBe('master-pw');
    expect(configError({ FERRY_REDIS_SENTINELS: '10.0.0.1:26379' })).toContain('FERRY_REDIS_SENTINEL_MASTER');
    expect(configError({ FERRY_REDIS_SENTINELS: '10.0.0.1:99999', FERRY_REDIS_SENTINEL_MASTER: 'm' })).toContain('host:port');
  });

  it('refuses two descriptions of Redis at once', () => {
    expect(configError({ REDIS_URL: 'redis://a:6379', FERRY_REDIS_CLUSTER_NODES: 'redis://b:7000' })).toContain(
      'REDIS_URL and FERRY_REDIS_CLUSTER_NODES are both set',
    );
  });

  it('refuses FERRY_REDIS_WAIT_REPLICAS on a cluster, where WAIT would not reach the master that took the write', () => {
    expect(configError({ FERRY_REDIS_CLUSTER_NODES: 'redis://10.0.0.1:7000', FERRY_REDIS_WAIT_REPLICAS: '1' })).toContain(
      'FERRY_REDIS_WAIT_REPLICAS works with one master',
    );
    expect(loadConfig({ REDIS_URL: 'redis://a:6379', FERRY_REDIS_WAIT_REPLICAS: '1' }).redis.waitReplicas).toEqual({ count: 1, timeoutMs: 2000 });
  });
});
