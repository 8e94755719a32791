import { setTimeout as sleep } from 'node:timers/promises';
import { QueueEvents, type Queue } from 'bullmq';
import { ENDED_STATES, DownloadProgress, DownloadResult, type DownloadEvent } from '@ferry/contract';
import { decodeFailureReason, readControl, shownState, type RedisClient } from '@ferry/core';
import { SpeedMeter } from './speed-meter.js';

export type JobEventListener = (event: DownloadEvent) => void;

interface JobEventHubOptions {
  /** The queue whose jobs' events are relayed. */
  readonly queue: Queue;
  /** Opens a connection of its own for each reader: QueueEvents blocks on it reading the events stream. */
  readonly connect: () => RedisClient;
  /** Any other connection, for the few reads an event needs (is a delayed job paused?). */
  readonly redis: RedisClient;
  readonly logger: { warn(details: object, message: string): void };
}

const CLOSE_WAIT_MS = 2000;
/** How long the reader outlives the last stream: a client that reconnects at once does not cost a new connection. */
const IDLE_STOP_MS = 2000;

interface Reader {
  readonly events: QueueEvents;
  readonly connection: RedisClient;
}

/**
 * One BullMQ QueueEvents per API process, fanned out in memory to every open
 * event stream by job id. Events come from the queue's Redis stream, which every
 * worker writes to, so any API replica serves any download, and a thousand open
 * streams still cost one Redis connection. The reader runs only while some stream
 * is open: reading every event of a busy queue that nobody watches cost the API a
 * fifth of its CPU.
 */
export class JobEventHub {
  readonly #options: JobEventHubOptions;
  #reader: Promise<Reader> | undefined;
  #idleTimer: NodeJS.Timeout | undefined;
  /** The reader whose events are relayed: one still closing relays nothing, so no event arrives twice. */
  #live: QueueEvents | undefined;
  readonly #listeners = new Map<string, Set<JobEventListener>>();
  readonly #meters = new Map<string, SpeedMeter>();
  // Events are delivered in stream order even when one needs a Redis read first.
  #chain: Promise<void> = Promise.resolve();

  constructor(options: JobEventHubOptions) {
    this.#options = options;
  }

  /**
   * Starts reading after the stream's last entry as it is now: a stream subscribes,
   * then reads its snapshot, so every event after that snapshot is still delivered.
   */
  async #startReader(): Promise<Reader> {
    const { queue, logger, redis } = this.#options;
    const [last] = await redis.xrevrange(queue.keys['events']!, '+', '-', 'COUNT', 1);
    const connection = this.#options.connect();
    connection.on('error', (err: Error) => logger.warn({ err: err.message }, 'queue events connection error'));
    const events = new QueueEvents(queue.name, { connection, prefix: queue.opts.prefix, lastEventId: last?.[0] ?? '0-0' });
    events.on('error', (err) => logger.warn({ err: err.message }, 'queue events error'));
    this.#live = events;
    this.#relay(events);
    return { events, connection };
  }

  #relay(events: QueueEvents): void {
    const options = this.#options;
    const on = (name: string, toEvent: (args: Record<string, unknown>, at: number) => DownloadEvent | undefined | Promise<DownloadEvent | undefined>) =>
      events.on(name as 'active', (args: unknown, id: string) => {
        const jobId = (args as { jobId?: string }).jobId;
        if (jobId === undefined || this.#live !== events || !this.#listeners.has(jobId)) return;
        const at = Number(id.split('-')[0]);
        this.#chain = this.#chain
          .then(async () => {
            const event = await toEvent(args as Record<string, unknown>, at);
            if (event !== undefined) this.#publish(jobId, event);
          })
          .catch((err: unknown) => options.logger.warn({ jobId, err: (err as Error).message }, 'could not relay a download event'));
      });
    on('waiting', ({ jobId }) => ({ type: 'state', id: String(jobId), state: 'queued' }));
    on('active', ({ jobId }) => ({ type: 'state', id: String(jobId), state: 'active' }));
    on('delayed', async ({ jobId }) => {
      const id = String(jobId);
      const control = await readControl(options.redis, options.queue.toKey(id));
      return { type: 'state', id, state: shownState('delayed', control, undefined) };
    });
    on('progress', ({ jobId, data }, at) => this.#progress(String(jobId), data, at));
    on('completed', ({ jobId, returnvalue }) => {
      const result = DownloadResult.safeParse(returnvalue);
      return result.success ? { type: 'completed', id: String(jobId), result: result.data } : undefined;
    });
    on('failed', ({ jobId, failedReason }) => {
      const error = decodeFailureReason(String(failedReason ?? ''));
      return shownState('failed', undefined, error) === 'cancelled' ? { type: 'cancelled', id: String(jobId) } : { type: 'failed', id: String(jobId), error };
    });
  }

  #progress(id: string, data: unknown, at: number): DownloadEvent | undefined {
    const progress = DownloadProgress.safeParse(data);
    if (!progress.success) return undefined;
    const { receivedBytes, totalBytes } = progress.data;
    const meter = this.#meters.get(id) ?? new SpeedMeter();
    this.#meters.set(id, meter);
    return { type: 'progress', id, receivedBytes, totalBytes, ...meter.update(at, receivedBytes, totalBytes) };
  }

  #publish(jobId: string, event: DownloadEvent): void {
    // A download that stops receiving (paused, waiting to retry, ended) starts its speed afresh: the time it stood still is not its speed.
    if (ENDED_STATES.has(event.type) || (event.type === 'state' && event.state !== 'active')) this.#meters.delete(jobId);
    for (const listener of this.#listeners.get(jobId) ?? []) listener(event);
  }

  /** Calls `listener` with every event of these jobs, from when it resolves until the function it resolves to is called. */
  async subscribe(jobIds: readonly string[], listener: JobEventListener): Promise<() => void> {
    for (const id of jobIds) {
      const set = this.#listeners.get(id) ?? new Set();
      set.add(listener);
      this.#listeners.set(id, set);
    }
    const unsubscribe = () => {
      for (const id of jobIds) {
        const set = this.#listeners.get(id);
        set?.delete(listener);
        if (set?.size === 0) {
          this.#listeners.delete(id);
          this.#meters.delete(id);
        }
      }
      if (this.#listeners.size === 0) this.#stopWhenIdle();
    };
    clearTimeout(this.#idleTimer);
    try {
      await (this.#reader ??= this.#startReader());
    } catch (err) {
      this.#reader = undefined;
      unsubscribe();
      throw err;
    }
    return unsubscribe;
  }

  #stopWhenIdle(): void {
    clearTimeout(this.#idleTimer);
    this.#idleTimer = setTimeout(() => {
      if (this.#listeners.size === 0) void this.#stopReader();
    }, IDLE_STOP_MS);
    this.#idleTimer.unref();
  }

  async #stopReader(): Promise<void> {
    const starting = this.#reader;
    this.#reader = undefined;
    const reader = await starting?.catch(() => undefined);
    if (reader === undefined) return;
    if (this.#live === reader.events) this.#live = undefined;
    // With Redis unreachable BullMQ's close waits for a reconnect that may never come; shutdown must not.
    await Promise.race([reader.events.close(), sleep(CLOSE_WAIT_MS, undefined, { ref: false })]);
    reader.connection.disconnect();
  }

  /** Jobs someone is listening to; 0 once every stream has gone. */
  get watchedJobs(): number {
    return this.#listeners.size;
  }

  async close(): Promise<void> {
    clearTimeout(this.#idleTimer);
    await this.#stopReader();
  }
}
