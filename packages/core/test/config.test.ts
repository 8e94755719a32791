import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { CONFIG_VARIABLES, loadConfig } from '../src/config.js';
import { FerryError } from '@ferry/contract';

describe('loadConfig', () => {
  it('fills every setting with its documented default from an empty environment', () => {
    const config = loadConfig({}, '/srv/ferry');
    expect(config.redis.url).toBeUndefined();
    expect(config.api).toEqual({
      host: '127.0.0.1',
      port: 3000,
      bodyLimitBytes: 256 * 1024,
      keys: [],
      rateLimit: { max: 600, windowMs: 60_000 },
      authFailureLimit: { max: 20, windowMs: 600_000 },
      trustProxy: false,
      idempotencyTtlSeconds: 86_400,
      batchMaxSize: 10_000,
      batchBodyLimitBytes: 32 * 1024 * 1024,
    });
    expect(config.dataDir).toBe('/srv/ferry/.ferry');
    expect(config.storageDir).toBe('/srv/ferry/.ferry/files');
    expect(config.retry).toEqual({ attempts: 5, backoffBaseMs: 1000, backoffMaxMs: 300_000, retryAfterMaxMs: 600_000 });
    expect(config.dashboard).toEqual({ user: 'admin', password: undefined, readOnly: false });
    expect(config.egress).toEqual({ allowCidrs: [], allowHosts: [], allowPorts: [] });
  });

  it('parses numbers and resolves relative paths against the working directory', () => {
    const config = loadConfig({ FERRY_API_PORT: '8080', FERRY_STORAGE_DIR: 'out', FERRY_WORKER_CONCURRENCY: '16' }, '/srv/ferry');
    expect(config.api.port).toBe(8080);
    expect(config.storageDir).toBe(path.resolve('/srv/ferry', 'out'));
    expect(config.worker.concurrency).toBe(16);
  });

  it('treats an empty variable as unset', () => {
    expect(loadConfig({ FERRY_API_PORT: '', REDIS_URL: '' }).api.port).toBe(3000);
  });

  it('returns a deeply frozen object', () => {
    const config = loadConfig({});
    expect(Object.isFrozen(config)).toBe(true);
    expect(Object.isFrozen(config.retry)).toBe(true);
    expect(Object.isFrozen(config.retention.completed)).toBe(true);
  });

  it('names every wrong variable, what was given and what is allowed', () => {
    let thrown: unknown;
    try {
      loadConfig({ FERRY_API_PORT: '70000', REDIS_URL: 'localhost:6379', FERRY_LOG_LEVEL: 'loud' });
    } catch (err) {
      thrown = err;
    }
    expect(thrown).toBeInstanceOf(FerryError);
    const err = thrown as FerryError;
    expect(err.code).toBe('FERRY_ERR_CONFIG');
    expect(err.message).toContain('FERRY_API_PORT must be at most 65535 (got "70000")');
    expect(err.message).toContain('REDIS_URL must be a redis:// or rediss:// URL');
    expect(err.message).toMatch(/FERRY_LOG_LEVEL .*(got "loud")/);
    expect(err.message).toContain('.env.example');
  });

  it('never repeats the value of a variable that holds a secret, nor the credentials in a URL', () => {
    const env = {
      FERRY_API_KEYS: 'billing:fry_sekrit-raw-key-pasted-for-its-hash',
      FERRY_WEBHOOK_SECRETS: 'sekrit-webhook',
      FERRY_DASHBOARD_PASSWORD: 'sekrit-pw',
      FERRY_HEADERS_ENCRYPTION_KEYS: 'sekrit-sealing-key',
      REDIS_URL: 'http://ferry:sekrit-redis-password@redis.internal:6379',
    };
    let message = '';
    try {
      loadConfig(env);
    } catch (err) {
      message = (err as Error).message;
    }
    for (const name of Object.keys(env)) expect(message).toContain(name);
    expect(message).not.toMatch(/sekrit/);
    expect(message).toContain('http://[redacted]@redis.internal:6379');
    expect(message).toContain('entry 1 ("billing:…") is not one');
  });

  it('refuses a backoff base larger than its maximum', () => {
    expect(() => loadConfig({ FERRY_BACKOFF_BASE_MS: '5000', FERRY_BACKOFF_MAX_MS: '1000' })).toThrow(
      /FERRY_BACKOFF_BASE_MS \(5000\) must not exceed FERRY_BACKOFF_MAX_MS/,
    );
  });

  it("reads FERRY_API_TRUST_PROXY as off, a hop count or the proxies' networks, and refuses true, which would believe any client", () => {
    const trust = (value: string) => loadConfig({ FERRY_API_TRUST_PROXY: value }).api.trustProxy;
    expect(trust('false')).toBe(false);
    expect(trust('2')).toBe(2);
    expect(trust('10.0.0.5, fd00::/8')).toEqual(['10.0.0.5/32', 'fd00::/8']);
    expect(() => trust('true')).toThrow(/FERRY_API_TRUST_PROXY .*addresses a client writes into X-Forwarded-For itself/);
    expect(() => trust('0')).toThrow(/FERRY_API_TRUST_PROXY must be false, a number of proxy hops/);
    expect(() => trust('proxy.lan')).toThrow(/FERRY_API_TRUST_PROXY must be false, .* e\.g\. 10\.0\.0\.5/);
  });

  it('refuses a dashboard password shorter than 12 characters', () => {
    expect(() => loadConfig({ FERRY_DASHBOARD_PASSWORD: 'short' })).toThrow(/FERRY_DASHBOARD_PASSWORD must be at least 12 characters/);
  });

  it.each([
    ['FERRY_DASHBOARD_PASSWORD', 'dashboard-pw'.slice(0, 11)],
    ['FERRY_METRICS_TOKEN', 'metrics token with a space'],
    ['FERRY_WEBHOOK_SECRETS', 'whsec_not!base64-secret-value'],
    ['FERRY_HEADERS_ENCRYPTION_KEYS', 'k1:not-a-32-byte-sealing-key'],
    ['FERRY_API_KEYS', 'ci:fry_raw-key-pasted-by-mistake'],
    ['FERRY_API_KEYS', 'fry_raw-key-pasted-by-mistake'],
    ['REDIS_URL', 'http://:redis-password@redis.internal:6379'],
  ])('never shows the secret in %s when it refuses it, only what is wrong', (name, value) => {
    const secret = name === 'REDIS_URL' ? 'redis-password' : value.replace(/^(ci:|k1:)/, '');
    let message = '';
    try {
      loadConfig({ [name]: value });
    } catch (err) {
      message = (err as Error).message;
    }
    expect(message).toContain(`${name} must`);
    expect(message).not.toContain(secret);
  });

  it('lists every variable name it reads', () => {
    expect(CONFIG_VARIABLES).toContain('REDIS_URL');
    expect(CONFIG_VARIABLES).toContain('FERRY_SHUTDOWN_DEADLINE_MS');
    expect(CONFIG_VARIABLES.every((name) => name === 'NODE_ENV' || name === 'REDIS_URL' || name.startsWith('FERRY_'))).toBe(true);
  });
});

describe('FERRY_API_KEYS', () => {
  const hash = 'a'.repeat(64);

  it('reads name:sha256 entries', () => {
    expect(loadConfig({ FERRY_API_KEYS: `billing:${hash}, ci:${'B'.repeat(64)}` }).api.keys).toEqual([
      { name: 'billing', sha256: hash },
      { name: 'ci', sha256: 'b'.repeat(64) },
    ]);
  });

  it('refuses a raw key, a short hash or a repeated name, saying how to make an entry', () => {
    expect(() => loadConfig({ FERRY_API_KEYS: 'fry_raw-key' })).toThrow(
      /FERRY_API_KEYS must be a comma-separated list of name:sha256 entries.*npm run api-key/,
    );
    expect(() => loadConfig({ FERRY_API_KEYS: 'ci:abc' })).toThrow(/name:sha256/);
    expect(() => loadConfig({ FERRY_API_KEYS: `ci:${hash},ci:${hash}` })).toThrow(/names the key "ci" twice/);
  });
});

describe('FERRY_STORAGE', () => {
  it('stores on local disk unless told otherwise, so npm start is unchanged', () => {
    const config = loadConfig({}, '/srv/ferry');
    expect(config.storage).toBe('local');
    expect(config.s3).toBeUndefined();
    expect(config.worker.janitorOrphanAgeMs).toBe(3_600_000);
  });

  it('reads the bucket and how to reach it for s3, with defaults for the rest', () => {
    expect(loadConfig({ FERRY_STORAGE: 's3', FERRY_S3_BUCKET: 'ferry-files' }).s3).toEqual({
      bucket: 'ferry-files',
      region: undefined,
      endpoint: undefined,
      forcePathStyle: false,
      keyPrefix: '',
      partSizeBytes: 8 * 1024 * 1024,
      partBuffers: 4,
      content: { mode: 'stream' },
    });
    const config = loadConfig({
      FERRY_STORAGE: 's3',
      FERRY_S3_BUCKET: 'ferry-files',
      FERRY_S3_REGION: 'eu-west-1',
      FERRY_S3_ENDPOINT: 'http://minio:9000',
      FERRY_S3_FORCE_PATH_STYLE: 'true',
      FERRY_S3_KEY_PREFIX: 'tenant-a/ferry',
      FERRY_S3_PART_SIZE_BYTES: String(16 * 1024 * 1024),
      FERRY_S3_PART_BUFFERS: '12',
      FERRY_S3_CONTENT: 'redirect',
      FERRY_S3_PRESIGN_TTL_SECONDS: '300',
    });
    expect(config.storage).toBe('s3');
    expect(config.s3).toEqual({
      bucket: 'ferry-files',
      region: 'eu-west-1',
      endpoint: 'http://minio:9000',
      forcePathStyle: true,
      keyPrefix: 'tenant-a/ferry/',
      partSizeBytes: 16 * 1024 * 1024,
      partBuffers: 12,
      content: { mode: 'redirect', presignTtlSeconds: 300 },
    });
  });

  it('refuses a content redirect without s3, and a presigned URL S3 would not sign, saying how to fix it', () => {
    expect(() => loadConfig({ FERRY_S3_CONTENT: 'redirect' })).toThrow(
      /FERRY_S3_CONTENT=redirect needs FERRY_STORAGE=s3.*Set FERRY_STORAGE=s3, or unset FERRY_S3_CONTENT/,
    );
    const s3 = { FERRY_STORAGE: 's3', FERRY_S3_BUCKET: 'b-1' };
    expect(() => loadConfig({ ...s3, FERRY_S3_CONTENT: 'presign' })).toThrow(/FERRY_S3_CONTENT must be stream or redirect \(got "presign"\)/);
    expect(() => loadConfig({ ...s3, FERRY_S3_PRESIGN_TTL_SECONDS: '604801' })).toThrow(/FERRY_S3_PRESIGN_TTL_SECONDS must be at most 604800/);
  });

  it('keeps a key prefix that already ends with a slash as it is', () => {
    expect(loadConfig({ FERRY_STORAGE: 's3', FERRY_S3_BUCKET: 'b-1', FERRY_S3_KEY_PREFIX: 'ferry/' }).s3?.keyPrefix).toBe('ferry/');
  });

  it('refuses s3 without a bucket, and a bucket without s3, saying which variable to set', () => {
    expect(() => loadConfig({ FERRY_STORAGE: 's3' })).toThrow(/FERRY_STORAGE=s3 needs FERRY_S3_BUCKET/);
    expect(() => loadConfig({ FERRY_S3_BUCKET: 'ferry-files' })).toThrow(/FERRY_S3_BUCKET is set but FERRY_STORAGE is local.*Set FERRY_STORAGE=s3/);
  });

  it('refuses a storage other than local or s3', () => {
    expect(() => loadConfig({ FERRY_STORAGE: 'gcs' })).toThrow(/FERRY_STORAGE must be local or s3 \(got "gcs"\)/);
  });

  it('refuses a part smaller than S3 allows, naming the smallest', () => {
    expect(() => loadConfig({ FERRY_STORAGE: 's3', FERRY_S3_BUCKET: 'b-1', FERRY_S3_PART_SIZE_BYTES: '1048576' })).toThrow(
      /FERRY_S3_PART_SIZE_BYTES must be at least 5242880 \(got "1048576"\)/,
    );
  });

  it('gives a worker a part buffer per download it runs at once unless told, and refuses fewer than one each', () => {
    const s3 = { FERRY_STORAGE: 's3', FERRY_S3_BUCKET: 'b-1' };
    expect(loadConfig({ ...s3, FERRY_WORKER_CONCURRENCY: '10' }).s3?.partBuffers).toBe(10);
    expect(loadConfig({ ...s3, FERRY_WORKER_CONCURRENCY: '10', FERRY_S3_PART_BUFFERS: '12' }).s3?.partBuffers).toBe(12);
    expect(() => loadConfig({ ...s3, FERRY_WORKER_CONCURRENCY: '10', FERRY_S3_PART_BUFFERS: '9' })).toThrow(
      /FERRY_S3_PART_BUFFERS=9 is below FERRY_WORKER_CONCURRENCY=10.*Set FERRY_S3_PART_BUFFERS to at least 10, or unset it/,
    );
    expect(() => loadConfig({ ...s3, FERRY_S3_PART_BUFFERS: '0' })).toThrow(/FERRY_S3_PART_BUFFERS must be at least 1/);
  });

  it('refuses names S3 would refuse, saying what is allowed', () => {
    const s3 = { FERRY_STORAGE: 's3', FERRY_S3_BUCKET: 'b-1' };
    expect(() => loadConfig({ ...s3, FERRY_S3_BUCKET: 'My_Bucket' })).toThrow(/FERRY_S3_BUCKET must be a bucket name: 3-63 lower-case letters/);
    expect(() => loadConfig({ ...s3, FERRY_S3_ENDPOINT: 'minio:9000' })).toThrow(/FERRY_S3_ENDPOINT must be an http:\/\/ or https:\/\/ URL/);
    expect(() => loadConfig({ ...s3, FERRY_S3_REGION: 'EU West' })).toThrow(/FERRY_S3_REGION must be a region name such as eu-west-1/);
    expect(() => loadConfig({ ...s3, FERRY_S3_FORCE_PATH_STYLE: 'yes' })).toThrow(/FERRY_S3_FORCE_PATH_STYLE must be true or false/);
    expect(() => loadConfig({ ...s3, FERRY_S3_KEY_PREFIX: '/ferry' })).toThrow(/FERRY_S3_KEY_PREFIX must be .*not starting with \//);
    expect(() => loadConfig({ ...s3, FERRY_S3_KEY_PREFIX: 'a/../b' })).toThrow(/FERRY_S3_KEY_PREFIX must not hold \. or \.\. segments/);
  });
});
