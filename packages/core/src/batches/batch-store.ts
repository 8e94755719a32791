import type { Queue } from 'bullmq';
import type { RedisClient } from '../redis/connections.js';
import type { BatchMember, BatchSummary } from '@ferry/contract';
import type { Config } from '../config.js';
import { CANCELLED_REASON_PREFIX } from '../failure.js';
import { CONTROL_FIELD } from '../control-field.js';
import { ferryKey } from '../redis/keys.js';
import type { DownloadState, DownloadStatus } from '@ferry/contract';
import { CALLBACK_JOB, type CallbackJob } from '../webhooks/callbacks.js';
import { MEMBER_STATES } from './batch-scripts.js';
import { EVERY_MEMBER_TALLIED, RECORD_MEMBER_STATE, TALLIED_FIELD, TALLIED_STATES, TALLY_SUMMARY } from './batch-tally.js';
import { summarizeMembers, type MemberRow, type MemberSummary } from './batch-summary.js';

export interface BatchRecord {
  readonly id: string;
  /** The API key name that created it; other keys do not see it. */
  readonly owner: string;
  readonly size: number;
  readonly createdAt: number;
  readonly callbackUrl: string | undefined;
  readonly cancelled: boolean;
  /** When the last member's outcome was recorded; unset while running (again). */
  readonly finishedAt: number | undefined;
  /** Its counts are kept as members move (batch-tally.ts); a batch created by an earlier build is counted by walking its members. */
  readonly tallied: boolean;
  /** Every member has had an entry in its states hash since creation (batches from before have only the delayed ones'). */
  readonly everyMemberTallied: boolean;
}

interface NewBatch {
  readonly id: string;
  readonly owner: string;
  readonly createdAt: number;
  readonly callbackUrl: string | undefined;
  /** `delayed`: the member starts later (a delay or notBefore), so it is counted delayed until a worker takes it. */
  readonly members: ReadonlyArray<{ readonly id: string; readonly url: string; readonly delayed?: boolean }>;
}

interface BatchStoreOptions {
  readonly redis: RedisClient;
  /** The downloads queue, whose job keys and sets the member states are read from. */
  readonly downloads: Queue;
  /** Where the batch's completion callback is queued. */
  readonly callbacks: Queue;
  readonly prefix: string;
  /** How long an ended batch is kept: as long as its longest-kept member (0 = forever). */
  readonly ttlSeconds: number;
}

// Members read per script call: short enough not to hold Redis up, few enough calls for 10,000 members.
const CHUNK = 1000;

type OutcomeReply = 'missing' | 'recorded' | 'ended' | 'ended-again';

interface BatchCommands {
  ferryBatchRecordState(...args: Array<string | number>): Promise<OutcomeReply>;
  ferryBatchTally(batch: string, states: string, active: string, jobKeyPrefix: string, batchId: string, everyMember: '1' | '0'): Promise<number[]>;
  ferryBatchMemberStates(...args: Array<string | number>): Promise<Array<string | number>>;
}

/**
 * Ferry's own bookkeeping of batches, rather than BullMQ flows: a flow's parent
 * counts only children that a worker finished, while a cancelled waiting
 * download is moved to failed by a script no worker runs, and a retried one
 * must count as running again. A batch is a hash (owner, size, callback,
 * cancelled, finishedAt), its member ids in request order (a list, so pages are
 * ranges), and each ended member's outcome (a hash, so recording one twice is harmless).
 * Counts and bytes are kept as members move (batch-tally.ts), so reading them
 * does not walk the members; a page of members is read from their live jobs.
 */
export class BatchStore {
  readonly #redis: RedisClient & BatchCommands;
  readonly #options: BatchStoreOptions;

  constructor(options: BatchStoreOptions) {
    this.#options = options;
    const redis = options.redis as RedisClient & Partial<BatchCommands>;
    if (redis.ferryBatchMemberStates === undefined) {
      redis.defineCommand('ferryBatchRecordState', { numberOfKeys: 5, lua: RECORD_MEMBER_STATE });
      redis.defineCommand('ferryBatchTally', { numberOfKeys: 3, lua: TALLY_SUMMARY });
      redis.defineCommand('ferryBatchMemberStates', { numberOfKeys: 8, lua: MEMBER_STATES });
    }
    this.#redis = redis as RedisClient & BatchCommands;
  }

  #keys(id: string): [batch: string, outcomes: string, members: string, states: string] {
    const base = ferryKey(this.#options.prefix, 'batch', id);
    return [base, `${base}:outcomes`, `${base}:members`, `${base}:states`];
  }

  /** Writes the batch before its jobs exist, so a member that ends at once finds it. */
  async create(batch: NewBatch): Promise<void> {
    const [key, , members, states] = this.#keys(batch.id);
    const delayed = batch.members.filter((m) => m.delayed === true);
    const fields: Record<string, string> = {
      owner: batch.owner,
      size: String(batch.members.length),
      createdAt: String(batch.createdAt),
      [TALLIED_FIELD]: EVERY_MEMBER_TALLIED,
      'n:queued': String(batch.members.length - delayed.length),
      'n:delayed': String(delayed.length),
      unknown: String(batch.members.length),
    };
    if (batch.callbackUrl !== undefined) fields['callbackUrl'] = batch.callbackUrl;
    // A member entry is `<id> <url>`: ids are UUIDs, so the first space ends the id.
    const write = this.#redis
      .multi()
      .hset(key, fields)
      .rpush(members, ...batch.members.map((m) => `${m.id} ${m.url}`));
    write.hset(states, Object.fromEntries(batch.members.map((m) => [m.id, m.delayed === true ? 'delayed:0:' : 'queued:0:'])));
    await write.exec();
  }

  /** Undoes `create` when its jobs could not be enqueued. */
  async remove(id: string): Promise<void> {
    await this.#redis.del(...this.#keys(id));
  }

  async load(id: string): Promise<BatchRecord | undefined> {
    const fields = await this.#redis.hgetall(this.#keys(id)[0]);
    if (fields['owner'] === undefined) return undefined;
    return {
      id,
      owner: fields['owner'],
      size: Number(fields['size']),
      createdAt: Number(fields['createdAt']),
      callbackUrl: fields['callbackUrl'],
      cancelled: fields['cancelled'] === '1',
      finishedAt: fields['finishedAt'] === undefined ? undefined : Number(fields['finishedAt']),
      tallied: fields[TALLIED_FIELD] !== undefined,
      everyMemberTallied: fields[TALLIED_FIELD] === EVERY_MEMBER_TALLIED,
    };
  }

  async markCancelled(id: string): Promise<void> {
    await this.#redis.hset(this.#keys(id)[0], 'cancelled', '1');
  }

  async #memberRows(batch: BatchRecord, start: number, stop: number): Promise<MemberRow[]> {
    const [, outcomes, members, states] = this.#keys(batch.id);
    const q = this.#options.downloads;
    const chunks: Array<Promise<Array<string | number>>> = [];
    for (let from = start; from <= stop; from += CHUNK) {
      chunks.push(
        this.#redis.ferryBatchMemberStates(
          members,
          outcomes,
          q.keys['completed']!,
          q.keys['failed']!,
          q.keys['delayed']!,
          q.keys['prioritized']!,
          q.keys['active']!,
          states,
          q.toKey(''),
          from,
          Math.min(stop, from + CHUNK - 1),
          CONTROL_FIELD,
          CANCELLED_REASON_PREFIX,
        ),
      );
    }
    const rows: MemberRow[] = [];
    for (const flat of await Promise.all(chunks)) {
      for (let i = 0; i < flat.length; i += 4) {
        const [state, received, total, finishedOn] = [String(flat[i]), Number(flat[i + 1]), Number(flat[i + 2]), Number(flat[i + 3])];
        const colon = state.indexOf(':');
        rows.push({
          state: colon < 0 ? (state as MemberRow['state']) : 'expired',
          outcome: colon < 0 ? undefined : { state: state.slice(0, colon) as DownloadState, bytes: Number(state.slice(colon + 1)) },
          receivedBytes: received,
          totalBytes: total < 0 ? null : total,
          finishedOn,
        });
      }
    }
    return rows;
  }

  /** The counts kept for a tallied batch, with its active members' live bytes: one script, whatever the batch's size. */
  async #tally(batch: BatchRecord): Promise<MemberSummary> {
    const [key, , , states] = this.#keys(batch.id);
    const q = this.#options.downloads;
    const values = await this.#redis.ferryBatchTally(key, states, q.keys['active']!, q.toKey(''), batch.id, batch.everyMemberTallied ? '1' : '0');
    const counts = { queued: 0, active: 0, delayed: 0, paused: 0, completed: 0, failed: 0, cancelled: 0, expired: 0 };
    TALLIED_STATES.forEach((state, i) => (counts[state] = Number(values[i] ?? 0)));
    const [received, expected, unknown] = values.slice(TALLIED_STATES.length).map(Number);
    const ended = counts.queued + counts.active + counts.delayed + counts.paused === 0;
    const failures = counts.failed + counts.cancelled;
    const state = batch.cancelled ? 'cancelled' : !ended ? 'running' : failures > 0 ? 'completed_with_failures' : 'completed';
    return { counts, bytes: { received: received ?? 0, expected: unknown === 0 ? (expected ?? 0) : null }, ended, state, lastFinishedOn: 0 };
  }

  /** The batch as `GET /v1/batches/:id` shows it, without its member page; `ended` when no member can still change. */
  async summary(batch: BatchRecord): Promise<{ summary: BatchSummary; ended: boolean }> {
    const members: MemberSummary = batch.tallied
      ? await this.#tally(batch)
      : summarizeMembers(await this.#memberRows(batch, 0, batch.size - 1), batch.cancelled);
    const finishedAt = members.ended ? (batch.finishedAt ?? (members.lastFinishedOn || Date.now())) : undefined;
    const summary: BatchSummary = {
      id: batch.id,
      state: members.state,
      size: batch.size,
      counts: members.counts,
      bytes: members.bytes,
      createdAt: new Date(batch.createdAt).toISOString(),
      finishedAt: finishedAt === undefined ? null : new Date(finishedAt).toISOString(),
    };
    return { summary, ended: members.ended };
  }

  /** Members `offset`.. in request order, with their live states. */
  async page(batch: BatchRecord, offset: number, limit: number): Promise<BatchMember[]> {
    const stop = Math.min(batch.size, offset + limit) - 1;
    if (stop < offset) return [];
    const [entries, rows] = await Promise.all([this.#redis.lrange(this.#keys(batch.id)[2], offset, stop), this.#memberRows(batch, offset, stop)]);
    return entries.map((entry, i) => {
      const space = entry.indexOf(' ');
      return { id: entry.slice(0, space), url: entry.slice(space + 1), state: rows[i]?.state ?? 'expired' };
    });
  }

  /** Member ids in request order: all of them, or those at positions `start`..`stop` (inclusive). */
  async memberIds(id: string, start = 0, stop = -1): Promise<string[]> {
    const entries = await this.#redis.lrange(this.#keys(id)[2], start, stop);
    return entries.map((entry) => entry.slice(0, entry.indexOf(' ')));
  }

  /**
   * Records that a member ended for good, given its status once its job is
   * `completed` or `failed` (so completed, failed or cancelled), and queues the
   * batch's completion callback when it was the last one. Called by workers for
   * the downloads they finish, and by whoever moves a download that is not
   * running to failed (cancel). Safe to call twice for the same outcome.
   */
  async recordOutcome(status: DownloadStatus): Promise<void> {
    const { batchId } = status;
    if (typeof batchId !== 'string') return;
    // What it received: its result's size once completed, else as far as it got.
    const bytes = status.result?.bytes ?? status.progress.receivedBytes;
    const reply = await this.#record(batchId, status.id, status.state, bytes, bytes);
    if (reply === 'ended') await this.#queueCallback(batchId);
  }

  /**
   * A member that has not ended moved (paused, resumed, handed back, waiting to retry): its batch counts it so.
   * An active one is found active when the batch is read.
   */
  async recordRunning(status: DownloadStatus): Promise<void> {
    if (typeof status.batchId !== 'string' || status.state === 'active') return;
    await this.#record(status.batchId, status.id, status.state, status.progress.receivedBytes, status.progress.totalBytes, true);
  }

  /** A retried member runs again: the batch is running until it ends again (without a second callback). */
  async reopen(batchId: string, memberId: string): Promise<void> {
    await this.#record(batchId, memberId, 'queued', 0, null);
  }

  /** `move`: a member that has not ended moved, which never reopens an ended member (only a retry does). */
  #record(batchId: string, memberId: string, state: DownloadState, received: number, expected: number | null, move = false): Promise<OutcomeReply> {
    const jobKey = this.#options.downloads.toKey(memberId);
    return this.#redis.ferryBatchRecordState(
      ...this.#keys(batchId),
      jobKey,
      memberId,
      state,
      received,
      expected ?? '',
      Date.now(),
      this.#options.ttlSeconds,
      CONTROL_FIELD,
      move ? '1' : '0',
    );
  }

  async #queueCallback(batchId: string): Promise<void> {
    const batch = await this.load(batchId);
    if (batch?.callbackUrl === undefined) return;
    const { summary: data } = await this.summary(batch);
    const callback: CallbackJob = { url: batch.callbackUrl, owner: batch.owner, event: { type: 'batch.completed', timestamp: new Date().toISOString(), data } };
    // The id makes a second queueing of the same event a no-op.
    await this.#options.callbacks.add(CALLBACK_JOB, callback, { jobId: `${batchId}.batch.completed` });
  }
}

/** The store as the API and workers use it; an ended batch is kept as long as the longest retention of its members' jobs. */
export function createBatchStore(config: Config, queues: Pick<BatchStoreOptions, 'redis' | 'downloads' | 'callbacks'>): BatchStore {
  const ttlSeconds = Math.max(config.retention.completed.age, config.retention.failed.age);
  return new BatchStore({ ...queues, prefix: config.queuePrefix, ttlSeconds });
}
