import { createHash } from 'node:crypto';
import type { RedisClient } from './redis/connections.js';
import { ferryKey } from './redis/keys.js';
import type { DownloadRequest } from '@ferry/contract';
import type { HeaderSealer } from './secrets/header-sealer.js';

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
 * The fingerprints a stored one may equal, the one to store first. A request with
 * headers is digested with the sealing keys (one fingerprint per key, so a retry
 * after a rotation is still the same request): a plain hash of it in Redis would let
 * anyone who reads Redis check guesses of its credentials. Its plain hash is not
 * even sent (SLOWLOG keeps arguments), so a retry of a request with headers whose
 * record an earlier build stored is a conflict until that record expires.
 */
export function requestFingerprints(request: DownloadRequest, sealer: HeaderSealer): string[] {
  const text = JSON.stringify(canonical({ ...request, idempotencyKey: undefined }));
  if (request.headers !== undefined && Object.keys(request.headers).length > 0) return sealer.digests(text);
  return [createHash('sha256').update(text).digest('hex')];
}

interface IdempotencyRecord {
  readonly id: string;
  readonly fingerprint: string;
  /** Set once the job is in the queue: a missing job then means retention removed it, not that it is on its way. */
  readonly enqueued: boolean;
  /** When the key was first claimed (ms): the download's creation time, however often the enqueue is taken over. */
  readonly createdAt: number;
  /** When the enqueue was last taken on (ms): an unfinished claim older than the grace may be taken over. */
  readonly claimedAt: number;
}

/**
 * What a request holding an idempotency key must do:
 * - `enqueue`: enqueue `record.id` (a new claim, or a stale unfinished one taken over);
 * - `replay`: answer with `record.id`, whose job is in the queue or was;
 * - `pending`: another request is enqueueing `record.id` right now; ask again shortly;
 * - `conflict`: the key was claimed for a different request body.
 */
export interface IdempotencyClaim {
  readonly outcome: 'enqueue' | 'replay' | 'pending' | 'conflict';
  readonly record: IdempotencyRecord;
}

/**
 * How long a claim that has not become a job belongs to the request that made it. Enqueueing takes
 * milliseconds; a claim still unfinished after this is one whose request lost Redis between claim and
 * enqueue (and could not release it either). Taking over early is harmless: the taker enqueues the
 * same id, which BullMQ adds at most once.
 */
export const CLAIM_GRACE_MS = 1000;

/*
 * One atomic step, so that of many retries at most one takes over a stale claim.
 * ARGV: the new record, the TTL (s), the key prefix of the queue's jobs, now (ms), the grace (ms), then the fingerprints
 * that count as this request's.
 * The job key is built here from the record's id: it is not known before the record is read.
 * Records written before claimedAt existed count as stale.
 */
const CLAIM = `
local rcall = redis.call
local existing = rcall("GET", KEYS[1])
if not existing then
  rcall("SET", KEYS[1], ARGV[1], "EX", ARGV[2])
  return {"enqueue", ARGV[1]}
end
local record = cjson.decode(existing)
local same = false
for i = 6, #ARGV do same = same or record.fingerprint == ARGV[i] end
if not same then return {"conflict", existing} end
if record.enqueued then return {"replay", existing} end
if rcall("EXISTS", ARGV[3] .. record.id) == 1 then
  record.enqueued = true
  existing = cjson.encode(record)
  rcall("SET", KEYS[1], existing, "KEEPTTL")
  return {"replay", existing}
end
local now = tonumber(ARGV[4])
if now - (tonumber(record.claimedAt) or 0) < tonumber(ARGV[5]) then return {"pending", existing} end
record.claimedAt = now
record.createdAt = tonumber(record.createdAt) or now
existing = cjson.encode(record)
rcall("SET", KEYS[1], existing, "KEEPTTL")
return {"enqueue", existing}
`;

interface IdempotencyCommands {
  ferryIdempotencyClaim(
    key: string,
    record: string,
    ttlSeconds: number,
    jobKeyPrefix: string,
    now: number,
    graceMs: number,
    ...fingerprints: string[]
  ): Promise<[string, string]>;
}

/**
 * Idempotency-key → job id, per API key, kept for its own TTL so that a retry
 * gets the same id even after retention removed the job. The first of any number
 * of concurrent requests is the only one that enqueues; an id is only ever
 * answered once its job exists (or existed), and a claim whose enqueue was lost
 * is taken over by a later retry, which enqueues the same id.
 */
export class IdempotencyStore {
  readonly #redis: RedisClient & IdempotencyCommands;

  constructor(
    redis: RedisClient,
    private readonly prefix: string,
    private readonly ttlSeconds: number,
    /** What the queue's job keys start with (`queue.toKey('')`): whether a claimed id became a job. */
    private readonly jobKeyPrefix: string,
  ) {
    // Defined once per connection, so each request runs the script by its hash instead of sending it.
    const commands = redis as RedisClient & Partial<IdempotencyCommands>;
    if (commands.ferryIdempotencyClaim === undefined) redis.defineCommand('ferryIdempotencyClaim', { numberOfKeys: 1, lua: CLAIM });
    this.#redis = commands as RedisClient & IdempotencyCommands;
  }

  #key(owner: string, key: string): string {
    return ferryKey(this.prefix, 'idempotency', createHash('sha256').update(`${owner}\0${key}`).digest('hex'));
  }

  /** Claims `key` for a new download `id`, or says what became of the earlier claim; `fingerprints` as requestFingerprints gives them. */
  async claim(owner: string, key: string, id: string, fingerprints: readonly string[]): Promise<IdempotencyClaim> {
    const [fingerprint] = fingerprints;
    if (fingerprint === undefined) throw new Error('a claim needs the fingerprint of its request');
    const now = Date.now();
    const record: IdempotencyRecord = { id, fingerprint, enqueued: false, createdAt: now, claimedAt: now };
    const [outcome, stored] = await this.#redis.ferryIdempotencyClaim(
      this.#key(owner, key),
      JSON.stringify(record),
      this.ttlSeconds,
      this.jobKeyPrefix,
      now,
      CLAIM_GRACE_MS,
      ...fingerprints,
    );
    return { outcome: outcome as IdempotencyClaim['outcome'], record: JSON.parse(stored) as IdempotencyRecord };
  }

  /** Records that the claim's job is in the queue. A lost mark costs nothing: the next claim finds the job and marks it. */
  async markEnqueued(owner: string, key: string, record: IdempotencyRecord): Promise<void> {
    await this.#redis.set(this.#key(owner, key), JSON.stringify({ ...record, enqueued: true }), 'KEEPTTL', 'XX');
  }
}
