import type { Queue } from 'bullmq';
import type { RedisClient } from './redis/connections.js';
import { z } from 'zod';
import { FerryError } from '@ferry/contract';
import { outboxKey } from './download-outbox.js';
import { encodeFailureReason } from './failure.js';
import { asControlAction, CONTROL_FIELD, type ControlAction } from './control-field.js';
import { ferryKey } from './redis/keys.js';

/** Workers listen here for pause and cancel requests about the jobs they hold. */
export const controlChannel = (prefix: string): string => ferryKey(prefix, 'control');

export const ControlMessage = z.object({ id: z.string(), action: z.enum(['pause', 'cancel']) });
export type ControlMessage = z.infer<typeof ControlMessage>;

/**
 * A paused job waits in BullMQ's delayed set until this far ahead (or until
 * resumed). Ten years keeps BullMQ's delayed score (ms × 4096) an exact integer.
 */
export const PAUSED_FOR_MS = 10 * 365 * 24 * 3600 * 1000;

export const cancelledError = (): FerryError => new FerryError('FERRY_ERR_CANCELLED', 'cancelled by request');

/** What became of a pause or cancel request when it reached Redis. */
export type ControlOutcome = 'paused' | 'cancelled' | 'active' | 'completed' | 'failed' | 'missing' | 'unknown';

/*
 * One atomic step, so a job cannot start or finish between the state check and the move:
 * - finished or gone: nothing to do, say which;
 * - active: record the request on the job for the worker that holds it (it is also told by pub/sub);
 * - waiting, prioritized or delayed: carry it out here, as BullMQ itself would:
 *   cancel = move to the failed set with FERRY_ERR_CANCELLED (and mark the end for reporting, see DownloadOutbox),
 *   pause = move to the delayed set far ahead.
 * A cancel is never downgraded to a pause.
 */
const REQUEST_CONTROL = `
local rcall = redis.call
local jobKey, jobId, action = KEYS[1], ARGV[1], ARGV[2]
if rcall("EXISTS", jobKey) == 0 then return "missing" end
if rcall("ZSCORE", KEYS[8], jobId) then return "completed" end
if rcall("ZSCORE", KEYS[7], jobId) then return "failed" end
if rcall("LPOS", KEYS[6], jobId) then
  if not (action == "pause" and rcall("HGET", jobKey, ARGV[7]) == "cancel") then rcall("HSET", jobKey, ARGV[7], action) end
  return "active"
end
local removed = rcall("LREM", KEYS[2], 0, jobId) + rcall("LREM", KEYS[3], 0, jobId) + rcall("ZREM", KEYS[4], jobId) + rcall("ZREM", KEYS[5], jobId)
if removed == 0 then return "unknown" end
local maxEvents = rcall("HGET", KEYS[10], "opts.maxLenEvents") or 10000
if action == "cancel" then
  rcall("HSET", jobKey, "failedReason", ARGV[4], "finishedOn", ARGV[3])
  rcall("HDEL", jobKey, ARGV[7])
  rcall("ZADD", KEYS[7], ARGV[3], jobId)
  rcall("ZADD", KEYS[11], ARGV[3], jobId)
  rcall("XADD", KEYS[9], "MAXLEN", "~", maxEvents, "*", "event", "failed", "jobId", jobId, "failedReason", ARGV[4], "prev", "waiting")
  return "cancelled"
end
rcall("HSET", jobKey, ARGV[7], "pause", "delay", ARGV[6])
rcall("ZADD", KEYS[5], ARGV[5], jobId)
rcall("XADD", KEYS[9], "MAXLEN", "~", maxEvents, "*", "event", "delayed", "jobId", jobId, "delay", ARGV[6])
return "paused"
`;

/**
 * Pause, cancel and resume from any API process. BullMQ can abort a job only
 * inside the worker process that runs it, so an active job's worker is told
 * over Redis pub/sub (and finds the request on the job if it missed the message).
 */
interface ControlCommands {
  ferryRequestControl(...args: Array<string | number>): Promise<ControlOutcome>;
}

export class DownloadControl {
  readonly #redis: RedisClient & ControlCommands;

  constructor(
    private readonly queue: Queue,
    /** The queue's connection. */
    redis: RedisClient,
    private readonly prefix: string,
  ) {
    // Defined once per connection, so each request runs the script by its hash instead of sending it.
    const commands = redis as RedisClient & Partial<ControlCommands>;
    if (commands.ferryRequestControl === undefined) redis.defineCommand('ferryRequestControl', { numberOfKeys: 11, lua: REQUEST_CONTROL });
    this.#redis = commands as RedisClient & ControlCommands;
  }

  async request(id: string, action: ControlAction): Promise<ControlOutcome> {
    const key = (type: string) => this.queue.toKey(type);
    const now = Date.now();
    const pausedUntil = now + PAUSED_FOR_MS;
    const outcome = await this.#redis.ferryRequestControl(
      key(id),
      key('wait'),
      key('paused'),
      key('prioritized'),
      key('delayed'),
      key('active'),
      key('failed'),
      key('completed'),
      key('events'),
      key('meta'),
      outboxKey(this.prefix),
      id,
      action,
      now,
      encodeFailureReason(cancelledError()),
      pausedUntil * 0x1000,
      pausedUntil,
      CONTROL_FIELD,
    );
    if (outcome === 'active') await this.#redis.publish(controlChannel(this.prefix), JSON.stringify({ id, action } satisfies ControlMessage));
    return outcome;
  }

  /** The pause or cancel requests recorded on these jobs, in the same order, in one round trip. */
  async pending(ids: readonly string[]): Promise<Array<ControlAction | undefined>> {
    const pipeline = this.#redis.pipeline();
    for (const id of ids) pipeline.hget(this.queue.toKey(id), CONTROL_FIELD);
    const replies = (await pipeline.exec()) ?? [];
    return ids.map((_, i) => (replies[i]?.[0] ? undefined : asControlAction(replies[i]?.[1])));
  }

  /** Forgets a pause or cancel request, before the job runs again. */
  async clear(id: string): Promise<void> {
    await this.#redis.hdel(this.queue.toKey(id), CONTROL_FIELD);
  }
}
