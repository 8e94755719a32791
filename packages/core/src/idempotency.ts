import { createHash } from 'node:crypto';
import type { Redis } from 'ioredis';
import type { DownloadRequest } from './schemas.js';

function canonical(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(canonical);
  if (value === null || typeof value !== 'object') return value;
  return Object.fromEntries(
    Object.entries(value)
      .filter(([, v]) => v !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
      .map(([k, v]) => [k, canonical(v)]),
  );
}

/**
 * What "the same body" means for a retried POST: the parsed request, field order
 * ignored, the idempotency key itself left out (it may come as a header or a field).
 */
export function requestFingerprint(request: DownloadRequest): string {
  return createHash('sha256').update(JSON.stringify(canonical({ ...request, idempotencyKey: undefined }))).digest('hex');
}

export interface IdempotencyRecord {
  readonly id: string;
  readonly fingerprint: string;
  /** Set once the job is in the queue: a missing job then means retention removed it, not that it is on its way. */
  readonly enqueued: boolean;
}

/**
 * Idempotency-key → job id, per API key, kept for its own TTL so that a retry
 * gets the same id even after retention removed the job. SET NX makes the first
 * of any number of concurrent requests the only one that enqueues.
 */
export class IdempotencyStore {
  constructor(
    private readonly redis: Redis,
    private readonly prefix: string,
    private readonly ttlSeconds: number,
  ) {}

  #key(owner: string, key: string): string {
    return `${this.prefix}:idempotency:${createHash('sha256').update(`${owner}\0${key}`).digest('hex')}`;
  }

  /** Records `record` unless the key was used already; returns the earlier record then. */
  async claim(owner: string, key: string, record: IdempotencyRecord): Promise<IdempotencyRecord | undefined> {
    const redisKey = this.#key(owner, key);
    const set = await this.redis.set(redisKey, JSON.stringify(record), 'EX', this.ttlSeconds, 'NX');
    if (set === 'OK') return undefined;
    const existing = await this.redis.get(redisKey);
    // Expired between the two commands: claim again rather than report a record that is gone.
    return existing === null ? this.claim(owner, key, record) : (JSON.parse(existing) as IdempotencyRecord);
  }

  async markEnqueued(owner: string, key: string, record: IdempotencyRecord): Promise<void> {
    await this.redis.set(this.#key(owner, key), JSON.stringify({ ...record, enqueued: true }), 'KEEPTTL', 'XX');
  }

  /** Frees a key whose job could not be enqueued, so a retry can try again. */
  async release(owner: string, key: string): Promise<void> {
    await this.redis.del(this.#key(owner, key));
  }
}
