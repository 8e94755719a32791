import path from 'node:path';
import { z } from 'zod';
import { FerryError, MAX_SEGMENTS } from '@ferry/contract';
import {
  DEFAULT_SEGMENT_MIN_BYTES,
  DEFAULT_SEGMENT_PROBE_MS,
  DEFAULT_SEGMENT_SPLIT_BELOW_BYTES_PER_SECOND,
  DEFAULT_SEGMENTS,
  type EgressPolicyOptions,
  type HttpLimits,
  type PortRule,
} from '@ferry/engine';
import { parseApiKeys, type ApiKey } from './api-keys.js';
import { parseCidrList, parseHostList, parsePortList } from './egress-config.js';
import { parseHostLimits, parseKeyLimits } from './limits/limit-host.js';
import type { LimitsPolicy } from './limits/fleet-limits.js';
import { parseRedisSettings, resolveQueuePrefix, type RedisSettings } from './redis/redis-settings.js';
import { parseSealingKeys, type SealingKey } from './secrets/header-sealer.js';
import { parseTrustProxy, type TrustProxy } from './trust-proxy.js';
import { parseWebhookSecrets } from './webhooks/secrets.js';
import { redactUserinfo } from './redact-url.js';

const SECOND = 1000;
const MINUTE = 60 * SECOND;
const DAY = 24 * 60 * MINUTE;
const MiB = 1024 * 1024;

const int = (min: number, max: number) =>
  z.coerce
    .number({ error: `must be a whole number between ${min} and ${max}` })
    .int({ error: `must be a whole number between ${min} and ${max}` })
    .min(min, { error: `must be at least ${min}` })
    .max(max, { error: `must be at most ${max}` });

const durationMs = (min: number, max: number) => int(min, max);

/** A comma-separated list read by one of the egress parsers, whose errors say how to write it. */
const list = <T>(parse: (text: string) => T[]) => parsed(parse);

/** A value read by a parser that throws a FerryError whose message says how to write it. */
function parsed<T>(parse: (text: string) => T) {
  return z
    .string()
    .transform((text, ctx): T => {
      try {
        return parse(text);
      } catch (err) {
        ctx.issues.push({ code: 'custom', message: (err as Error).message, input: text });
        return z.NEVER;
      }
    })
    .optional();
}

/**
 * Every environment variable Ferry reads. Each is documented in `.env.example`
 * and in the README's configuration table; a config test keeps the three in step.
 */
export const EnvSchema = z.object({
  /** Runtime mode. `production` refuses insecure defaults. */
  NODE_ENV: z.enum(['development', 'production', 'test']).default('development'),
  /** Redis that holds the queue, `redis://[user:password@]host:port[/db]` or `rediss://…` for TLS. Unset under `npm start`: a private redis-server is started. */
  REDIS_URL: z.url({ protocol: /^rediss?$/, error: 'must be a redis:// or rediss:// URL, e.g. redis://127.0.0.1:6379' }).optional(),
  /** A Redis Cluster instead of REDIS_URL: comma-separated `redis://` (or `rediss://`) URLs of some of its nodes; the first one's user and password log in to all. */
  FERRY_REDIS_CLUSTER_NODES: z.string().optional(),
  /** Redis behind Sentinel instead of REDIS_URL: comma-separated host:port of the sentinels. */
  FERRY_REDIS_SENTINELS: z.string().optional(),
  /** The master name the sentinels monitor; required with FERRY_REDIS_SENTINELS. */
  FERRY_REDIS_SENTINEL_MASTER: z.string().min(1).optional(),
  /** The sentinels' own password (`requirepass` in sentinel.conf), if they have one. */
  FERRY_REDIS_SENTINEL_PASSWORD: z.string().min(1).optional(),
  /** Redis ACL user; overrides the one in a URL. */
  FERRY_REDIS_USERNAME: z.string().min(1).optional(),
  /** Redis password (of FERRY_REDIS_USERNAME, or of `default`); overrides the one in a URL, so it can come from a secret store. */
  FERRY_REDIS_PASSWORD: z.string().min(1).optional(),
  /** A PEM file with the CA that signed the Redis servers' TLS certificates (rediss://), when Node does not trust it already. */
  FERRY_REDIS_TLS_CA_FILE: z.string().min(1).optional(),
  /** Replicas that must hold a new download before the API acknowledges it (Redis WAIT); 0 acknowledges once the master has it. */
  FERRY_REDIS_WAIT_REPLICAS: int(0, 16).default(0),
  /** How long the API waits for those replicas before answering 503. */
  FERRY_REDIS_WAIT_TIMEOUT_MS: durationMs(1, MINUTE).default(2 * SECOND),
  /** What to do when Redis may evict keys (anything but maxmemory-policy noeviction loses jobs). */
  FERRY_REDIS_EVICTION_CHECK: z.enum(['warn', 'refuse']).default('warn'),
  /** Key prefix for every key Ferry writes (BullMQ's `<prefix>:<queue>:…` and its own `<prefix>:<name>:…`), so several Ferry installs can share one Redis. */
  FERRY_QUEUE_PREFIX: z
    .string()
    .regex(/^[A-Za-z0-9_{}-]{1,32}$/, { error: 'must be 1-32 letters, digits, _, - or braces (a {hash tag} for Redis Cluster)' })
    .optional(),
  /** Address the API listens on. Use 0.0.0.0 in containers. */
  FERRY_API_HOST: z.string().min(1).default('127.0.0.1'),
  /** Port the API listens on; 0 picks a free one. */
  FERRY_API_PORT: int(0, 65535).default(3000),
  /** Largest request body the API accepts, in bytes. */
  FERRY_API_BODY_LIMIT_BYTES: int(1024, 64 * 1024 * 1024).default(256 * 1024),
  /** API keys, as name:sha256 entries (comma-separated); `npm run api-key -- <name>` makes one. The API refuses to start without any. */
  FERRY_API_KEYS: list(parseApiKeys),
  /** Requests one API key may make per FERRY_API_RATE_LIMIT_WINDOW_MS, counted in Redis across API replicas. */
  FERRY_API_RATE_LIMIT: int(1, 1_000_000).default(600),
  /** The rate limit's window. */
  FERRY_API_RATE_LIMIT_WINDOW_MS: durationMs(1000, DAY).default(MINUTE),
  /** Wrong API keys (and, apart, dashboard passwords) one client address may send per FERRY_AUTH_FAILURE_WINDOW_MS; beyond it its wrong or missing keys (any dashboard password) are 429 until the window ends. Counted in each API process's memory. */
  FERRY_AUTH_FAILURE_LIMIT: int(1, 1_000_000).default(20),
  /** The failed-authentication limit's window. */
  FERRY_AUTH_FAILURE_WINDOW_MS: durationMs(1000, DAY).default(10 * MINUTE),
  /** Which reverse proxies' X-Forwarded-For names the client (its address for the failed-login limit and logs): false, a hop count, or the proxies' addresses/CIDRs. */
  FERRY_API_TRUST_PROXY: parsed(parseTrustProxy).default(false),
  /** Secrets that sign completion callbacks (Standard Webhooks `whsec_…`, comma-separated; all sign, for rotation). Unset: requests with a callbackUrl are refused. */
  FERRY_WEBHOOK_SECRETS: list(parseWebhookSecrets),
  /** Keys that encrypt request headers while they sit in Redis (AES-256-GCM), as id:base64 entries (comma-separated; the first encrypts, all decrypt, for rotation). The API and every worker need the same keys. Unset: requests with headers are refused. */
  FERRY_HEADERS_ENCRYPTION_KEYS: list(parseSealingKeys),
  /** Delivery attempts per callback, the first included. */
  FERRY_CALLBACK_ATTEMPTS: int(1, 100).default(10),
  /** First delay between callback attempts; each later one doubles, with jitter. */
  FERRY_CALLBACK_BACKOFF_BASE_MS: durationMs(0, DAY).default(SECOND),
  /** How long a receiver may take to answer a callback. */
  FERRY_CALLBACK_TIMEOUT_MS: durationMs(1, 10 * MINUTE).default(10 * SECOND),
  /** How long an Idempotency-Key keeps answering with its job's id, even after retention removed the job. */
  FERRY_IDEMPOTENCY_TTL_SECONDS: int(60, 365 * 24 * 3600).default(24 * 3600),
  /** Most downloads one `POST /v1/batches` may hold. */
  FERRY_BATCH_MAX_SIZE: int(1, 100_000).default(10_000),
  /** Largest `POST /v1/batches` body, in bytes (other routes keep FERRY_API_BODY_LIMIT_BYTES). */
  FERRY_BATCH_BODY_LIMIT_BYTES: int(1024, 1024 * 1024 * 1024).default(32 * 1024 * 1024),
  /** Where Ferry keeps its own state under `npm start` (embedded Redis data, default storage). */
  FERRY_DATA_DIR: z.string().min(1).default('.ferry'),
  /** Where finished files land. Defaults to `$FERRY_DATA_DIR/files`. */
  FERRY_STORAGE_DIR: z.string().min(1).optional(),
  /** Where downloads are stored: `local` (FERRY_STORAGE_DIR) or `s3` (FERRY_S3_BUCKET, credentials from the standard AWS chain). */
  FERRY_STORAGE: z.enum(['local', 's3'], { error: 'must be local or s3' }).default('local'),
  /** The bucket downloads are stored in when FERRY_STORAGE=s3; it must exist already. */
  FERRY_S3_BUCKET: z
    .string()
    .regex(/^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/, {
      error: 'must be a bucket name: 3-63 lower-case letters, digits, dots or hyphens, starting and ending with a letter or digit',
    })
    .optional(),
  /** The bucket's region; unset: the AWS SDK's own (AWS_REGION, then the shared config file). */
  FERRY_S3_REGION: z
    .string()
    .regex(/^[a-z0-9-]{1,64}$/, { error: 'must be a region name such as eu-west-1 (lower-case letters, digits and hyphens)' })
    .optional(),
  /** An S3-compatible server to use instead of AWS (MinIO, R2, Ceph RGW…), e.g. http://minio:9000. */
  FERRY_S3_ENDPOINT: z.url({ protocol: /^https?$/, error: 'must be an http:// or https:// URL, e.g. http://minio:9000' }).optional(),
  /** Address the bucket as `<endpoint>/<bucket>` rather than `<bucket>.<endpoint>`; most self-hosted servers (MinIO) need it. */
  FERRY_S3_FORCE_PATH_STYLE: z.enum(['true', 'false'], { error: 'must be true or false' }).default('false'),
  /** Prepended to every key Ferry writes (files and uploads in progress), so Ferry can share a bucket; a missing trailing / is added. */
  FERRY_S3_KEY_PREFIX: z
    .string()
    .regex(/^(?!\/)[A-Za-z0-9!_.*'()/-]{1,512}$/, { error: "must be at most 512 letters, digits or ! _ . * ' ( ) / -, not starting with /, e.g. ferry/" })
    .refine((prefix) => !prefix.split('/').some((segment) => segment === '.' || segment === '..'), { error: 'must not hold . or .. segments' })
    .optional(),
  /** Size of each part of a multipart upload; a download holds at most three parts in memory. S3 allows 5 MiB to 5 GiB and 10,000 parts, so this caps the largest file at 10,000 × this. */
  FERRY_S3_PART_SIZE_BYTES: int(5 * MiB, 5 * 1024 * MiB).default(8 * MiB),
  /** Part buffers a worker's downloads share, each FERRY_S3_PART_SIZE_BYTES: the worker's memory for parts. Unset and at least: FERRY_WORKER_CONCURRENCY. */
  FERRY_S3_PART_BUFFERS: int(1, 100_000).optional(),
  /** How GET /v1/downloads/{id}/content serves a file in S3: `stream` it through the API (with Range), or `redirect` (307) to a presigned URL of the bucket. */
  FERRY_S3_CONTENT: z.enum(['stream', 'redirect'], { error: 'must be stream or redirect' }).default('stream'),
  /** How long a presigned URL of FERRY_S3_CONTENT=redirect works; S3 allows at most 7 days. */
  FERRY_S3_PRESIGN_TTL_SECONDS: int(1, 7 * 24 * 3600).default(60),
  /** Largest file a download may fetch, whatever the request says; unset means no server-wide cap. */
  FERRY_MAX_DOWNLOAD_BYTES: int(1, Number.MAX_SAFE_INTEGER).optional(),
  /**
   * Connections per download when the origin allows ranges and the file is large enough; 1 is one connection. A request may
   * ask for fewer, and each connection beyond the first takes a slot of the host's fleet-wide limit when one is free.
   */
  FERRY_SEGMENTS: int(1, MAX_SEGMENTS).default(DEFAULT_SEGMENTS),
  /** The smallest file fetched in segments, in bytes. */
  FERRY_SEGMENT_MIN_BYTES: int(1, Number.MAX_SAFE_INTEGER).default(DEFAULT_SEGMENT_MIN_BYTES),
  /** How long a download's first connection is watched before the rest of the file may be split among more. */
  FERRY_SEGMENT_PROBE_MS: durationMs(1, 60 * SECOND).default(DEFAULT_SEGMENT_PROBE_MS),
  /** The rest of the file is split only when the first connection made less than this (bytes per second) in the probe; 0: never split. */
  FERRY_SEGMENT_SPLIT_BELOW_BYTES_PER_SECOND: int(0, Number.MAX_SAFE_INTEGER).default(DEFAULT_SEGMENT_SPLIT_BELOW_BYTES_PER_SECOND),
  /** When the wanted file name is taken: rename (store `name (1).ext`), overwrite, or fail. Requests may choose. */
  FERRY_ON_CONFLICT: z.enum(['rename', 'overwrite', 'fail']).default('rename'),
  /** Non-public networks workers may reach anyway, e.g. 10.20.0.0/16,127.0.0.1/32. Unset: none (SSRF protection). */
  FERRY_EGRESS_ALLOW_CIDRS: list(parseCidrList),
  /** Host names whose addresses are not checked, e.g. files.internal.example. Unset: none. */
  FERRY_EGRESS_ALLOW_HOSTS: list(parseHostList),
  /** Ports workers may connect to besides 80 and 443, e.g. 8080,9000-9100. Unset: none. */
  FERRY_EGRESS_ALLOW_PORTS: list<PortRule>(parsePortList),
  /** Downloads one worker process runs at once. */
  FERRY_WORKER_CONCURRENCY: int(1, 1000).default(4),
  /** Downloads of one origin host (name and port, 80/443 left out) running at once across all workers; 0: no limit. */
  FERRY_HOST_CONCURRENCY: int(0, 100_000).default(0),
  /** Per-host exceptions to FERRY_HOST_CONCURRENCY, e.g. cdn.example.com=32,slow.example.org=2. */
  FERRY_HOST_CONCURRENCY_OVERRIDES: parsed(parseHostLimits),
  /** Downloads one origin host may start per second across all workers (decimals allowed: 0.5 is one per 2 s); 0: no rate limit. */
  FERRY_HOST_RATE_PER_SECOND: z.coerce
    .number({ error: 'must be a number of downloads per second, e.g. 2 or 0.5 (0 turns it off)' })
    .min(0, { error: 'must be 0 (off) or more' })
    .max(10_000, { error: 'must be at most 10000' })
    .default(0),
  /** Longest time an origin's 429 or 503 with Retry-After closes its host to that API key's downloads on every worker; 0 turns cooldowns off. */
  FERRY_HOST_COOLDOWN_MAX_MS: durationMs(0, DAY).default(10 * MINUTE),
  /** Downloads of one API key running at once across all workers; 0: no limit. */
  FERRY_KEY_CONCURRENCY: int(0, 100_000).default(0),
  /** Per-key exceptions to FERRY_KEY_CONCURRENCY, by key name as in FERRY_API_KEYS, e.g. importer=2,web=16. */
  FERRY_KEY_CONCURRENCY_OVERRIDES: parsed(parseKeyLimits),
  /** How long a download refused by a host or key limit first waits (without spending an attempt); it doubles with each refusal in a row. */
  FERRY_LIMIT_WAIT_MS: durationMs(10, 10 * MINUTE).default(500),
  /** The longest such wait. */
  FERRY_LIMIT_WAIT_MAX_MS: durationMs(10, 60 * MINUTE).default(5 * SECOND),
  /** Attempts per download, the first included. */
  FERRY_JOB_ATTEMPTS: int(1, 100).default(5),
  /** First retry delay; each later one doubles, with jitter. */
  FERRY_BACKOFF_BASE_MS: durationMs(0, DAY).default(SECOND),
  /** Longest computed retry delay. */
  FERRY_BACKOFF_MAX_MS: durationMs(0, 7 * DAY).default(5 * MINUTE),
  /** Longest delay an origin's Retry-After header may impose. */
  FERRY_RETRY_AFTER_MAX_MS: durationMs(0, 7 * DAY).default(10 * MINUTE),
  /** Time to open a TCP (and TLS) connection to an origin. */
  FERRY_CONNECT_TIMEOUT_MS: durationMs(1, 10 * MINUTE).default(10 * SECOND),
  /** Time from sending a request to receiving the response headers. */
  FERRY_HEADERS_TIMEOUT_MS: durationMs(1, 60 * MINUTE).default(30 * SECOND),
  /** Longest silence allowed between two chunks of a response body. */
  FERRY_BODY_IDLE_TIMEOUT_MS: durationMs(1, 60 * MINUTE).default(30 * SECOND),
  /** Longest connect, headers or body-idle timeout a request may ask for. */
  FERRY_MAX_TIMEOUT_MS: durationMs(1, DAY).default(60 * MINUTE),
  /** Fail an attempt whose speed stays below this (bytes per second) for a whole FERRY_LOW_SPEED_WINDOW_MS, like aria2's --lowest-speed-limit; 0 turns the check off. */
  FERRY_LOW_SPEED_BYTES_PER_SECOND: int(0, Number.MAX_SAFE_INTEGER).default(0),
  /** The window the low-speed check averages over. */
  FERRY_LOW_SPEED_WINDOW_MS: durationMs(100, DAY).default(60 * SECOND),
  /** How long a worker's claim on a job lasts without renewal before another worker may take it over. */
  FERRY_WORKER_LOCK_DURATION_MS: durationMs(1000, 60 * MINUTE).default(30 * SECOND),
  /** How often workers look for jobs whose worker died. */
  FERRY_WORKER_STALLED_INTERVAL_MS: durationMs(1000, 60 * MINUTE).default(30 * SECOND),
  /** How many times a job may be recovered from a dead worker before it fails. */
  FERRY_WORKER_MAX_STALLED_COUNT: int(0, 100).default(3),
  /** How often a worker removes part files left by finished or vanished jobs (it also does at start-up), and one worker the list entries of downloads retention removed. */
  FERRY_JANITOR_INTERVAL_MS: durationMs(1000, DAY).default(10 * MINUTE),
  /** How old kept bytes (an S3 multipart upload, a part file) that no later attempt will resume must be before the janitor removes them while their download is still queued; a finished or vanished download's go at once. */
  FERRY_JANITOR_ORPHAN_AGE_MS: durationMs(1000, 30 * DAY).default(60 * MINUTE),
  /** How often a worker reports download ends that a process died before reporting (callbacks, batch counts); an end unreported for this long counts as left behind. */
  FERRY_ENDINGS_SWEEP_INTERVAL_MS: durationMs(100, DAY).default(15 * SECOND),
  /** On SIGTERM/SIGINT, how long active downloads (and open API requests) may run on before the process stops anyway. */
  FERRY_SHUTDOWN_DEADLINE_MS: durationMs(0, 60 * MINUTE).default(30 * SECOND),
  /** Completed jobs are kept this long (seconds)... */
  FERRY_RETAIN_COMPLETED_SECONDS: int(0, 365 * 24 * 3600).default(7 * 24 * 3600),
  /** ...and at most this many. */
  FERRY_RETAIN_COMPLETED_COUNT: int(0, 10_000_000).default(10_000),
  /** Failed jobs are kept this long (seconds)... */
  FERRY_RETAIN_FAILED_SECONDS: int(0, 365 * 24 * 3600).default(30 * 24 * 3600),
  /** ...and at most this many. */
  FERRY_RETAIN_FAILED_COUNT: int(0, 10_000_000).default(50_000),
  /** pino log level. */
  FERRY_LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  /** `json` for machines, `pretty` for people at a terminal. */
  FERRY_LOG_FORMAT: z.enum(['json', 'pretty']).default('json'),
  /** Bull Board user name. */
  FERRY_DASHBOARD_USER: z.string().min(1).max(128).default('admin'),
  /** Show the dashboard without its buttons that retry, promote, clean or delete jobs. */
  FERRY_DASHBOARD_READ_ONLY: z.enum(['true', 'false'], { error: 'must be true or false' }).default('false'),
  /** Bull Board password; the API refuses to start without one (npm start generates one). */
  FERRY_DASHBOARD_PASSWORD: z.string().min(12, { error: 'must be at least 12 characters' }).max(256).optional(),
  /** Bearer token every metrics endpoint asks for (`Authorization: Bearer <token>`). Unset: the API port does not serve /metrics, and the metrics ports below answer anyone who reaches them. */
  FERRY_METRICS_TOKEN: z
    .string()
    .regex(/^[\x21-\x7e]{24,256}$/, { error: 'must be 24-256 printable characters without spaces, e.g. the output of `openssl rand -hex 32`' })
    .optional(),
  /** Address the metrics ports (FERRY_API_METRICS_PORT, FERRY_WORKER_METRICS_PORT) listen on. Use 0.0.0.0 in containers. */
  FERRY_METRICS_HOST: z.string().min(1).default('127.0.0.1'),
  /** A port of its own on which the API serves /metrics (0 picks a free one). Unset: none. */
  FERRY_API_METRICS_PORT: int(0, 65535).optional(),
  /** The port on which each worker serves /metrics (0 picks a free one); give each worker on one machine its own. Unset: workers serve no metrics. */
  FERRY_WORKER_METRICS_PORT: int(0, 65535).optional(),
});

type Env = z.infer<typeof EnvSchema>;

export interface Config {
  readonly env: Env['NODE_ENV'];
  readonly redis: RedisSettings & {
    /** REDIS_URL; undefined on a cluster or behind sentinels. */
    readonly url: string | undefined;
    readonly evictionCheck: Env['FERRY_REDIS_EVICTION_CHECK'];
    /** Replicas a new download must reach before it is acknowledged, and how long to wait for them. */
    readonly waitReplicas: { readonly count: number; readonly timeoutMs: number };
  };
  readonly queuePrefix: string;
  readonly api: {
    readonly host: string;
    readonly port: number;
    readonly bodyLimitBytes: number;
    readonly keys: readonly ApiKey[];
    readonly rateLimit: { readonly max: number; readonly windowMs: number };
    readonly authFailureLimit: { readonly max: number; readonly windowMs: number };
    /** FERRY_API_TRUST_PROXY, as Fastify's `trustProxy`. */
    readonly trustProxy: TrustProxy;
    readonly idempotencyTtlSeconds: number;
    readonly batchMaxSize: number;
    readonly batchBodyLimitBytes: number;
  };
  readonly dataDir: string;
  /** Where downloads are stored (FERRY_STORAGE): on local disk at `storageDir`, or in the bucket `s3` describes. */
  readonly storage: 'local' | 's3';
  readonly storageDir: string;
  /** The bucket and how to reach it, when `storage` is `s3`. */
  readonly s3: S3Settings | undefined;
  /** FERRY_HEADERS_ENCRYPTION_KEYS, the sealing one first. */
  readonly headerKeys: readonly SealingKey[];
  readonly egress: EgressPolicyOptions;
  readonly callbacks: {
    readonly secrets: readonly string[];
    readonly attempts: number;
    readonly backoffBaseMs: number;
    readonly timeoutMs: number;
  };
  readonly downloads: {
    readonly maxBytes: number | undefined;
    readonly onConflict: Env['FERRY_ON_CONFLICT'];
    readonly segments: number;
    readonly segmentMinBytes: number;
    readonly segmentProbeMs: number;
    readonly segmentSplitBelowBytesPerSecond: number;
  };
  readonly worker: {
    readonly concurrency: number;
    readonly lockDurationMs: number;
    readonly stalledIntervalMs: number;
    readonly maxStalledCount: number;
    readonly shutdownDeadlineMs: number;
    readonly janitorIntervalMs: number;
    readonly janitorOrphanAgeMs: number;
    readonly endingsSweepIntervalMs: number;
  };
  readonly retry: {
    readonly attempts: number;
    readonly backoffBaseMs: number;
    readonly backoffMaxMs: number;
    readonly retryAfterMaxMs: number;
  };
  readonly http: HttpLimits;
  readonly limits: LimitsPolicy;
  readonly retention: {
    readonly completed: { readonly age: number; readonly count: number };
    readonly failed: { readonly age: number; readonly count: number };
  };
  readonly log: { readonly level: Env['FERRY_LOG_LEVEL']; readonly format: Env['FERRY_LOG_FORMAT'] };
  readonly dashboard: { readonly user: string; readonly password: string | undefined; readonly readOnly: boolean };
  readonly metrics: {
    readonly token: string | undefined;
    readonly host: string;
    readonly apiPort: number | undefined;
    readonly workerPort: number | undefined;
  };
}

/** Where S3 storage writes; credentials are not here: the AWS SDK finds them (environment, shared config, instance role). */
export interface S3Settings {
  readonly bucket: string;
  /** Unset: the AWS SDK's own region chain. */
  readonly region: string | undefined;
  /** Unset: AWS itself. */
  readonly endpoint: string | undefined;
  readonly forcePathStyle: boolean;
  /** Empty, or ends with `/`. */
  readonly keyPrefix: string;
  readonly partSizeBytes: number;
  /** Part buffers shared by all of a worker's downloads: at least one per download it runs at once. */
  readonly partBuffers: number;
  /** `redirect`: the content route answers with a presigned URL valid this long instead of the bytes. */
  readonly content: { readonly mode: 'stream' } | { readonly mode: 'redirect'; readonly presignTtlSeconds: number };
}

function s3Settings(e: Env): S3Settings | undefined {
  if (e.FERRY_STORAGE === 'local') {
    if (e.FERRY_S3_BUCKET !== undefined) {
      throw new FerryError(
        'FERRY_ERR_CONFIG',
        'Invalid configuration:\n  FERRY_S3_BUCKET is set but FERRY_STORAGE is local, so files would not go to the bucket. Set FERRY_STORAGE=s3, or unset FERRY_S3_BUCKET.',
      );
    }
    if (e.FERRY_S3_CONTENT === 'redirect') {
      throw new FerryError(
        'FERRY_ERR_CONFIG',
        'Invalid configuration:\n  FERRY_S3_CONTENT=redirect needs FERRY_STORAGE=s3: a file on local disk has no URL to redirect to. Set FERRY_STORAGE=s3, or unset FERRY_S3_CONTENT.',
      );
    }
    return undefined;
  }
  if (e.FERRY_S3_BUCKET === undefined) {
    throw new FerryError(
      'FERRY_ERR_CONFIG',
      'Invalid configuration:\n  FERRY_STORAGE=s3 needs FERRY_S3_BUCKET, the name of an existing bucket (it is not created).',
    );
  }
  const concurrency = e.FERRY_WORKER_CONCURRENCY;
  if (e.FERRY_S3_PART_BUFFERS !== undefined && e.FERRY_S3_PART_BUFFERS < concurrency) {
    // With fewer, every buffer can sit in a part whose origin stalls, and the other downloads wait on them.
    throw new FerryError(
      'FERRY_ERR_CONFIG',
      `Invalid configuration:\n  FERRY_S3_PART_BUFFERS=${e.FERRY_S3_PART_BUFFERS} is below FERRY_WORKER_CONCURRENCY=${concurrency}: each download running at once needs a part buffer of its own. Set FERRY_S3_PART_BUFFERS to at least ${concurrency}, or unset it (one per download: FERRY_WORKER_CONCURRENCY).`,
    );
  }
  const prefix = e.FERRY_S3_KEY_PREFIX ?? '';
  return {
    bucket: e.FERRY_S3_BUCKET,
    region: e.FERRY_S3_REGION,
    endpoint: e.FERRY_S3_ENDPOINT,
    forcePathStyle: e.FERRY_S3_FORCE_PATH_STYLE === 'true',
    keyPrefix: prefix === '' || prefix.endsWith('/') ? prefix : `${prefix}/`,
    partSizeBytes: e.FERRY_S3_PART_SIZE_BYTES,
    // One per download at once: a download running alone still gets the parts it sends and the one it fills.
    partBuffers: e.FERRY_S3_PART_BUFFERS ?? concurrency,
    content: e.FERRY_S3_CONTENT === 'redirect' ? { mode: 'redirect', presignTtlSeconds: e.FERRY_S3_PRESIGN_TTL_SECONDS } : { mode: 'stream' },
  };
}

function deepFreeze<T extends object>(value: T): T {
  for (const child of Object.values(value)) {
    if (child !== null && typeof child === 'object') deepFreeze(child);
  }
  return Object.freeze(value);
}

/** Variables whose values are credentials: an error names them but never repeats what they hold. */
const SECRET_NAME = /(KEYS?|SECRETS?|PASSWORD|TOKEN)$/;

function shownValue(name: string, value: string | undefined): string {
  if (value === undefined) return 'it is not set';
  if (SECRET_NAME.test(name)) return `its value of ${value.length} characters is not repeated here`;
  return `got ${JSON.stringify(redactUserinfo(value))}`;
}

function describeIssues(error: z.ZodError, env: Record<string, string | undefined>): string {
  return error.issues
    .map((issue) => {
      const name = String(issue.path[0] ?? '(environment)');
      const shown = shownValue(name, env[name]);
      return `  ${name} ${issue.message} (${shown})`;
    })
    .join('\n');
}

/**
 * Parses the environment once, at start-up. Paths resolve against `cwd` so a
 * relative FERRY_DATA_DIR means the same thing however the process was started.
 */
export function loadConfig(env: Record<string, string | undefined> = process.env, cwd = process.cwd()): Config {
  // An empty variable means "not set", as in most dotenv tools, so `FOO=` falls back to the default.
  const present = Object.fromEntries(Object.entries(env).filter(([, value]) => value !== undefined && value !== ''));
  const parsed = EnvSchema.safeParse(present);
  if (!parsed.success) {
    throw new FerryError(
      'FERRY_ERR_CONFIG',
      `Invalid configuration:\n${describeIssues(parsed.error, env)}\nFix the variables above in the environment or in .env (every variable is described in .env.example).`,
      { cause: parsed.error },
    );
  }
  const e = parsed.data;
  if (e.FERRY_BACKOFF_BASE_MS > e.FERRY_BACKOFF_MAX_MS) {
    throw new FerryError(
      'FERRY_ERR_CONFIG',
      `Invalid configuration:\n  FERRY_BACKOFF_BASE_MS (${e.FERRY_BACKOFF_BASE_MS}) must not exceed FERRY_BACKOFF_MAX_MS (${e.FERRY_BACKOFF_MAX_MS}).`,
    );
  }
  if (e.FERRY_LIMIT_WAIT_MS > e.FERRY_LIMIT_WAIT_MAX_MS) {
    throw new FerryError(
      'FERRY_ERR_CONFIG',
      `Invalid configuration:\n  FERRY_LIMIT_WAIT_MS (${e.FERRY_LIMIT_WAIT_MS}) must not exceed FERRY_LIMIT_WAIT_MAX_MS (${e.FERRY_LIMIT_WAIT_MAX_MS}).`,
    );
  }
  // Checked only where the keys are known (a worker may run without them): a misspelt name would limit nobody.
  const unknownKey =
    e.FERRY_API_KEYS && [...(e.FERRY_KEY_CONCURRENCY_OVERRIDES?.keys() ?? [])].find((name) => !e.FERRY_API_KEYS?.some((key) => key.name === name));
  if (unknownKey !== undefined) {
    throw new FerryError(
      'FERRY_ERR_CONFIG',
      `Invalid configuration:\n  FERRY_KEY_CONCURRENCY_OVERRIDES names ${unknownKey}, which is no key in FERRY_API_KEYS: use the name before the ':' of a FERRY_API_KEYS entry.`,
    );
  }
  const dataDir = path.resolve(cwd, e.FERRY_DATA_DIR);
  const redis = parseRedisSettings(e);
  if (redis.topology.mode === 'cluster' && e.FERRY_REDIS_WAIT_REPLICAS > 0) {
    throw new FerryError(
      'FERRY_ERR_CONFIG',
      "Invalid configuration:\n  FERRY_REDIS_WAIT_REPLICAS works with one master (REDIS_URL or FERRY_REDIS_SENTINELS): on a cluster WAIT would reach a node of its client's choosing, not the one that took the write. Unset it, or give each cluster master replicas and rely on cluster failover.",
    );
  }
  return deepFreeze({
    env: e.NODE_ENV,
    redis: {
      ...redis,
      url: e.REDIS_URL,
      evictionCheck: e.FERRY_REDIS_EVICTION_CHECK,
      waitReplicas: { count: e.FERRY_REDIS_WAIT_REPLICAS, timeoutMs: e.FERRY_REDIS_WAIT_TIMEOUT_MS },
    },
    queuePrefix: resolveQueuePrefix(e.FERRY_QUEUE_PREFIX, redis.topology),
    api: {
      host: e.FERRY_API_HOST,
      port: e.FERRY_API_PORT,
      bodyLimitBytes: e.FERRY_API_BODY_LIMIT_BYTES,
      keys: e.FERRY_API_KEYS ?? [],
      rateLimit: { max: e.FERRY_API_RATE_LIMIT, windowMs: e.FERRY_API_RATE_LIMIT_WINDOW_MS },
      authFailureLimit: { max: e.FERRY_AUTH_FAILURE_LIMIT, windowMs: e.FERRY_AUTH_FAILURE_WINDOW_MS },
      trustProxy: e.FERRY_API_TRUST_PROXY,
      idempotencyTtlSeconds: e.FERRY_IDEMPOTENCY_TTL_SECONDS,
      batchMaxSize: e.FERRY_BATCH_MAX_SIZE,
      batchBodyLimitBytes: e.FERRY_BATCH_BODY_LIMIT_BYTES,
    },
    dataDir,
    storage: e.FERRY_STORAGE,
    s3: s3Settings(e),
    storageDir: path.resolve(cwd, e.FERRY_STORAGE_DIR ?? path.join(dataDir, 'files')),
    headerKeys: e.FERRY_HEADERS_ENCRYPTION_KEYS ?? [],
    egress: {
      allowCidrs: e.FERRY_EGRESS_ALLOW_CIDRS ?? [],
      allowHosts: e.FERRY_EGRESS_ALLOW_HOSTS ?? [],
      allowPorts: e.FERRY_EGRESS_ALLOW_PORTS ?? [],
    },
    downloads: {
      maxBytes: e.FERRY_MAX_DOWNLOAD_BYTES,
      onConflict: e.FERRY_ON_CONFLICT,
      segments: e.FERRY_SEGMENTS,
      segmentMinBytes: e.FERRY_SEGMENT_MIN_BYTES,
      segmentProbeMs: e.FERRY_SEGMENT_PROBE_MS,
      segmentSplitBelowBytesPerSecond: e.FERRY_SEGMENT_SPLIT_BELOW_BYTES_PER_SECOND,
    },
    callbacks: {
      secrets: e.FERRY_WEBHOOK_SECRETS ?? [],
      attempts: e.FERRY_CALLBACK_ATTEMPTS,
      backoffBaseMs: e.FERRY_CALLBACK_BACKOFF_BASE_MS,
      timeoutMs: e.FERRY_CALLBACK_TIMEOUT_MS,
    },
    worker: {
      concurrency: e.FERRY_WORKER_CONCURRENCY,
      lockDurationMs: e.FERRY_WORKER_LOCK_DURATION_MS,
      stalledIntervalMs: e.FERRY_WORKER_STALLED_INTERVAL_MS,
      maxStalledCount: e.FERRY_WORKER_MAX_STALLED_COUNT,
      shutdownDeadlineMs: e.FERRY_SHUTDOWN_DEADLINE_MS,
      janitorIntervalMs: e.FERRY_JANITOR_INTERVAL_MS,
      janitorOrphanAgeMs: e.FERRY_JANITOR_ORPHAN_AGE_MS,
      endingsSweepIntervalMs: e.FERRY_ENDINGS_SWEEP_INTERVAL_MS,
    },
    retry: {
      attempts: e.FERRY_JOB_ATTEMPTS,
      backoffBaseMs: e.FERRY_BACKOFF_BASE_MS,
      backoffMaxMs: e.FERRY_BACKOFF_MAX_MS,
      retryAfterMaxMs: e.FERRY_RETRY_AFTER_MAX_MS,
    },
    http: {
      connectTimeoutMs: e.FERRY_CONNECT_TIMEOUT_MS,
      headersTimeoutMs: e.FERRY_HEADERS_TIMEOUT_MS,
      bodyIdleTimeoutMs: e.FERRY_BODY_IDLE_TIMEOUT_MS,
      maxTimeoutMs: e.FERRY_MAX_TIMEOUT_MS,
      lowSpeedBytesPerSecond: e.FERRY_LOW_SPEED_BYTES_PER_SECOND,
      lowSpeedWindowMs: e.FERRY_LOW_SPEED_WINDOW_MS,
    },
    limits: {
      hostConcurrency: e.FERRY_HOST_CONCURRENCY,
      hostOverrides: e.FERRY_HOST_CONCURRENCY_OVERRIDES ?? new Map(),
      hostRatePerSecond: e.FERRY_HOST_RATE_PER_SECOND,
      cooldownMaxMs: e.FERRY_HOST_COOLDOWN_MAX_MS,
      keyConcurrency: e.FERRY_KEY_CONCURRENCY,
      keyOverrides: e.FERRY_KEY_CONCURRENCY_OVERRIDES ?? new Map(),
      waitBaseMs: e.FERRY_LIMIT_WAIT_MS,
      waitMaxMs: e.FERRY_LIMIT_WAIT_MAX_MS,
    },
    retention: {
      completed: { age: e.FERRY_RETAIN_COMPLETED_SECONDS, count: e.FERRY_RETAIN_COMPLETED_COUNT },
      failed: { age: e.FERRY_RETAIN_FAILED_SECONDS, count: e.FERRY_RETAIN_FAILED_COUNT },
    },
    log: { level: e.FERRY_LOG_LEVEL, format: e.FERRY_LOG_FORMAT },
    dashboard: { user: e.FERRY_DASHBOARD_USER, password: e.FERRY_DASHBOARD_PASSWORD, readOnly: e.FERRY_DASHBOARD_READ_ONLY === 'true' },
    metrics: { token: e.FERRY_METRICS_TOKEN, host: e.FERRY_METRICS_HOST, apiPort: e.FERRY_API_METRICS_PORT, workerPort: e.FERRY_WORKER_METRICS_PORT },
  });
}

/** The variable names Ferry knows, for tooling that checks deployment files against the schema. */
export const CONFIG_VARIABLES: readonly string[] = Object.freeze(Object.keys(EnvSchema.shape));
