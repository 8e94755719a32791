import type { DownloadWaiting } from '@ferry/contract';
import type { RedisClient } from '../redis/connections.js';
import { CONTROL_FIELD } from '../control-field.js';
import { WAIT_FIELD } from '../download-status.js';
import { ferryKey } from '../redis/keys.js';
import { NO_LIMITS_OBSERVER, type LimitsObserver } from './limits-observer.js';
import { ACQUIRE, ACQUIRE_EXTRA, RELEASE, RENEW } from './slot-scripts.js';

/** The limits as configured (Config['limits']). */
export interface LimitsPolicy {
  /** Downloads at once per host across the fleet; 0: no limit. */
  readonly hostConcurrency: number;
  readonly hostOverrides: ReadonlyMap<string, number>;
  /** Downloads started per second per host; 0: no rate limit. */
  readonly hostRatePerSecond: number;
  /** Longest cooldown a Retry-After may impose; 0: cooldowns off. */
  readonly cooldownMaxMs: number;
  /** Downloads at once per API key across the fleet; 0: no limit. */
  readonly keyConcurrency: number;
  readonly keyOverrides: ReadonlyMap<string, number>;
  /** A refused download's first wait; each refusal in a row doubles it, up to `waitMaxMs`. */
  readonly waitBaseMs: number;
  readonly waitMaxMs: number;
}

/** Why a download waits: the reason the API shows while it does (DownloadStatus.waiting). */
export type WaitReason = DownloadWaiting['reason'];

export type Admission =
  | {
      readonly admitted: true;
      readonly holder: string;
      /** Redis's clock, in µs; 0 for one admitted while no limit could bind (see FleetLimits), before any cut the host has. */
      readonly admittedAt: number;
    }
  | { readonly admitted: false; readonly reason: WaitReason; readonly waitMs: number };

/** What `acquire` answers: an admission, or `controlled` for a job with a pause or cancel to carry out first (it takes no slot). */
export type AcquireOutcome = Admission | 'controlled';

/** How an admitted download ended, for the release: a completed one raises a lowered limit, backpressure lowers it. */
export type DownloadEnd =
  { readonly kind: 'completed' | 'other' } | { readonly kind: 'backpressure'; readonly status: number; readonly retryAfterMs: number | undefined };

export interface Released {
  /** The host's limit after this backpressure halved it; undefined when it did not. */
  readonly loweredTo: number | undefined;
  /** How long the host is now closed to the key's downloads on every worker; undefined when this end closed nothing. */
  readonly cooldownMs: number | undefined;
}

/** The job's hash field counting its refusals in a row, which double its next wait. */
const WAITS_FIELD = 'ferryWaits';

/** A lowered host limit is forgotten this long after the last backpressure: an origin quiet that long has recovered. */
const AIMD_MEMORY_MS = 10 * 60 * 1000;

interface SlotCommands {
  ferryLimitAcquire(...args: Array<string | number>): Promise<[string, number]>;
  ferryLimitAcquireExtra(...args: Array<string | number>): Promise<number>;
  ferryLimitRenew(numKeys: number, ...args: Array<string | number>): Promise<number>;
  ferryLimitRelease(...args: Array<string | number>): Promise<[number, number]>;
}

interface Held {
  readonly hostSlots: string;
  /** Undefined when the key has no limit: its downloads are not counted. */
  readonly keySlots: string | undefined;
  readonly host: string;
  /** Whether its slot is in Redis: taken by acquire, or put there by a renewal. */
  inRedis: boolean;
}

/**
 * Fleet-wide concurrency per origin host and per API key, cooldowns after an origin's
 * 429/503 with Retry-After, and AIMD on its limit. Slots are entries in a Redis sorted
 * set per host (and per key), scored by when they expire: a worker renews its own while
 * the download runs, so those of a worker that died expire by themselves within `slotTtlMs`
 * (the job lock's duration) and the next admission removes them.
 *
 * While no limit can bind a download — its host and key have no concurrency limit and
 * no start rate, the host has no lowered limit and is not cooling down for the key, the
 * job has never waited — admission is one EXISTS and takes no slot: the slot is written
 * by the next renewal (within a third of the TTL) if the download still runs, and an
 * end before that writes nothing unless it is backpressure. So a short download costs
 * the limits one command instead of two scripts; what that loses is that a cut counts,
 * among the downloads not yet renewed, only the reporting worker's own.
 */
export class FleetLimits {
  readonly #redis: RedisClient & SlotCommands;
  readonly #held = new Map<string, Held>();
  /** Numbers the holders of extra connections, so no two of one download's are alike. */
  #extras = 0;
  readonly #timer: NodeJS.Timeout;

  constructor(
    redis: RedisClient,
    private readonly prefix: string,
    private readonly policy: LimitsPolicy,
    /** How long a slot lasts without renewal: the job lock's duration, so a slot and its job's lock expire together. */
    private readonly slotTtlMs: number,
    private readonly observer: LimitsObserver = NO_LIMITS_OBSERVER,
    private readonly random: () => number = Math.random,
  ) {
    const commands = redis as RedisClient & Partial<SlotCommands>;
    if (commands.ferryLimitAcquire === undefined) {
      redis.defineCommand('ferryLimitAcquire', { numberOfKeys: 6, lua: ACQUIRE });
      redis.defineCommand('ferryLimitAcquireExtra', { numberOfKeys: 3, lua: ACQUIRE_EXTRA });
      redis.defineCommand('ferryLimitRenew', { lua: RENEW });
      redis.defineCommand('ferryLimitRelease', { numberOfKeys: 4, lua: RELEASE });
    }
    this.#redis = commands as RedisClient & SlotCommands;
    // A third of the TTL: two renewals in a row may fail before a running download's slot expires.
    this.#timer = setInterval(() => void this.#renew(), Math.max(100, Math.floor(slotTtlMs / 3)));
    this.#timer.unref();
  }

  /** Whether any limit is set; when not, downloads skip the Redis round trips. */
  get enabled(): boolean {
    const p = this.policy;
    return (
      p.hostConcurrency > 0 || p.hostOverrides.size > 0 || p.hostRatePerSecond > 0 || p.cooldownMaxMs > 0 || p.keyConcurrency > 0 || p.keyOverrides.size > 0
    );
  }

  /** Whether only a cooldown or a lowered limit, both recorded in Redis, could hold back `owner`'s downloads of `host`. */
  #bindsOnlyAfterBackpressure(host: string, owner: string): boolean {
    return this.hostLimit(host) === 0 && this.policy.hostRatePerSecond === 0 && this.keyLimit(owner) === 0;
  }

  hostLimit(host: string): number {
    return this.policy.hostOverrides.get(host) ?? this.policy.hostConcurrency;
  }

  keyLimit(owner: string): number {
    return this.policy.keyOverrides.get(owner) ?? this.policy.keyConcurrency;
  }

  #key(kind: string, name: string): string {
    return ferryKey(this.prefix, 'limits', kind, name);
  }

  /**
   * A cooldown closes a host to the API key whose download met it, not to every key: what
   * one tenant fetched (an origin's quota for its credentials, a path that answers 429) must
   * not stall another's downloads. An origin that limits the whole fleet answers each key's
   * next request with its own 429, so each key pays at most one. AIMD stays per host: the
   * host's capacity is shared.
   */
  #cooldownKey(host: string, owner: string): string {
    return ferryKey(this.prefix, 'limits', 'host-cooldown', owner, host);
  }

  /**
   * Takes a slot for the download `holder` (unique per run of a job) to `host` for `owner`, or
   * says how long to wait. `jobKey` is the job's hash, where a refusal records why it waits,
   * and where a pause or cancel may be recorded, which comes first (`controlled`). `waited: false`
   * says the job had no wait record when its worker took it (so admission has none to clear):
   * then, when no limit can bind, admission takes no slot (see the class).
   */
  async acquire(holder: string, jobKey: string, host: string, owner: string, waited = true): Promise<AcquireOutcome> {
    const { policy } = this;
    if (!waited && this.#bindsOnlyAfterBackpressure(host, owner)) {
      if ((await this.#redis.exists(this.#cooldownKey(host, owner), this.#key('host-aimd', host))) === 0) {
        this.#held.set(holder, { hostSlots: this.#key('host-slots', host), keySlots: undefined, host, inRedis: false });
        return { admitted: true, holder, admittedAt: 0 };
      }
    }
    const interval = policy.hostRatePerSecond > 0 ? Math.ceil(1000 / policy.hostRatePerSecond) : 0;
    const [outcome, value] = await this.#redis.ferryLimitAcquire(
      this.#key('host-slots', host),
      this.#cooldownKey(host, owner),
      this.#key('host-aimd', host),
      this.#key('host-next', host),
      this.#key('key-slots', owner),
      jobKey,
      holder,
      this.slotTtlMs,
      this.hostLimit(host),
      this.keyLimit(owner),
      interval,
      host,
      policy.waitBaseMs,
      policy.waitMaxMs,
      this.random(),
      WAIT_FIELD,
      WAITS_FIELD,
      CONTROL_FIELD,
    );
    if (outcome === 'controlled') return outcome;
    if (outcome === 'ok') {
      this.#held.set(holder, {
        hostSlots: this.#key('host-slots', host),
        keySlots: this.keyLimit(owner) > 0 ? this.#key('key-slots', owner) : undefined,
        host,
        inRedis: true,
      });
      return { admitted: true, holder, admittedAt: Number(value) };
    }
    const reason = outcome as WaitReason;
    this.observer.waited(reason === 'key-limit' ? 'key' : 'host');
    return { admitted: false, reason, waitMs: Number(value) };
  }

  /**
   * Takes up to `wanted` more slots of `host` for connections of the download `admission` admitted
   * for `owner`, those free now and no more (see ACQUIRE_EXTRA); answers the holder of each slot taken,
   * for `releaseExtra`. They are renewed with the download's own and expire like it if this worker dies.
   */
  async acquireExtra(admission: Extract<Admission, { admitted: true }>, host: string, owner: string, wanted: number): Promise<string[]> {
    if (wanted <= 0) return [];
    const hostSlots = this.#key('host-slots', host);
    const holders = Array.from({ length: wanted }, () => `${admission.holder}+${(this.#extras += 1)}`);
    const granted = await this.#redis.ferryLimitAcquireExtra(
      hostSlots,
      this.#key('host-aimd', host),
      this.#cooldownKey(host, owner),
      this.slotTtlMs,
      this.hostLimit(host),
      ...holders,
    );
    const taken = holders.slice(0, granted);
    for (const holder of taken) this.#held.set(holder, { hostSlots, keySlots: undefined, host, inRedis: true });
    return taken;
  }

  /** Frees one slot `acquireExtra` took. */
  async releaseExtra(host: string, holder: string): Promise<void> {
    this.#held.delete(holder);
    await this.#redis.zrem(this.#key('host-slots', host), holder);
  }

  /** Frees the slots `acquire` took for `holder`, and adjusts the host's limit and cooldown by how the download ended. */
  async release(admission: Extract<Admission, { admitted: true }>, host: string, owner: string, end: DownloadEnd): Promise<Released> {
    const held = this.#held.get(admission.holder);
    this.#held.delete(admission.holder);
    // Not in Redis and no backpressure: there is no slot to free and nothing to learn (no cut existed when it was admitted).
    if (held?.inRedis === false && end.kind !== 'backpressure') return { loweredTo: undefined, cooldownMs: undefined };
    // A cut halves what is in flight: this worker's downloads of the host not yet in Redis count too (this one included).
    let notInRedis = held?.inRedis === false ? 1 : 0;
    for (const other of this.#held.values()) if (other.host === host && !other.inRedis) notInRedis += 1;
    const retryAfter = end.kind === 'backpressure' ? end.retryAfterMs : undefined;
    const cooldownMs = retryAfter === undefined ? 0 : Math.min(Math.max(0, Math.ceil(retryAfter)), this.policy.cooldownMaxMs);
    const [cutTo, closedFor] = await this.#redis.ferryLimitRelease(
      this.#key('host-slots', host),
      this.#key('key-slots', owner),
      this.#key('host-aimd', host),
      this.#cooldownKey(host, owner),
      admission.holder,
      end.kind,
      this.hostLimit(host),
      admission.admittedAt,
      cooldownMs,
      AIMD_MEMORY_MS,
      notInRedis,
    );
    if (closedFor > 0 && end.kind === 'backpressure') this.observer.cooledDown(end.status, closedFor / 1000);
    return { loweredTo: cutTo > 0 ? cutTo : undefined, cooldownMs: closedFor > 0 ? closedFor : undefined };
  }

  async #renew(): Promise<void> {
    if (this.#held.size === 0) return;
    const keys: string[] = [];
    const holders: string[] = [];
    for (const [holder, held] of this.#held) {
      // Marked before the call: a release sent while it runs then frees the slot it writes (same connection, so after it).
      held.inRedis = true;
      keys.push(held.hostSlots);
      holders.push(holder);
      if (held.keySlots !== undefined) {
        keys.push(held.keySlots);
        holders.push(holder);
      }
    }
    // A failed renewal is retried by the next tick; slots outlive two missed ones.
    await this.#redis.ferryLimitRenew(keys.length, ...keys, this.slotTtlMs, ...holders).catch(() => undefined);
  }

  stop(): void {
    clearInterval(this.#timer);
  }
}
