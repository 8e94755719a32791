import type { Worker } from 'bullmq';
import { controlChannel, ControlMessage, type ControlAction, type DownloadControl, type Logger, type RedisClient } from '@ferry/core';
import { every } from './every.js';

/** The abort reasons BullMQ hands the processor for a pause or cancel request. */
export const CONTROL_REASONS: Readonly<Record<ControlAction, string>> = { cancel: 'ferry:cancel', pause: 'ferry:pause' };

// Pub/sub is fire-and-forget: a message sent while this worker was reconnecting is lost,
// so active jobs are also checked for a recorded request this often.
const POLL_INTERVAL_MS = 2000;

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

/**
 * The worker's side of pause and cancel from any process: the API records the
 * request on the job and publishes it; the worker holding the job aborts it.
 */
export class WorkerControls {
  readonly #active = new Set<string>();
  /** Jobs already told to stop, so the poll does not repeat it. */
  readonly #stopping = new Set<string>();
  #subscriber: RedisClient | undefined;
  #poll: { stop: () => void } | undefined;

  constructor(
    /** A connection to duplicate for the subscription. */
    private readonly redis: RedisClient,
    private readonly control: DownloadControl,
    private readonly prefix: string,
    private readonly logger: Logger,
  ) {}

  async clear(id: string): Promise<void> {
    await this.control.clear(id);
  }

  track(id: string): void {
    this.#active.add(id);
  }

  untrack(id: string): void {
    this.#active.delete(id);
    this.#stopping.delete(id);
  }

  async start(worker: Worker): Promise<void> {
    const abort = (id: string, action: ControlAction) => {
      if (this.#stopping.has(id) || !this.#active.has(id)) return;
      this.#stopping.add(id);
      if (worker.cancelJob(id, CONTROL_REASONS[action])) this.logger.info({ jobId: id, action }, 'stopping download on request');
    };
    const subscriber = this.redis.duplicate();
    this.#subscriber = subscriber;
    subscriber.on('error', (err) => this.logger.warn({ err: err.message }, 'control subscriber error'));
    subscriber.on('message', (_channel, text: string) => {
      const message = ControlMessage.safeParse(parseJson(text));
      if (message.success) abort(message.data.id, message.data.action);
    });
    await subscriber.subscribe(controlChannel(this.prefix));
    this.#poll = every(
      POLL_INTERVAL_MS,
      'control poll',
      this.logger,
      async () => {
        const ids = [...this.#active];
        if (ids.length === 0) return;
        const actions = await this.control.pending(ids);
        actions.forEach((action, i) => {
          const id = ids[i];
          if (id !== undefined && action !== undefined) abort(id, action);
        });
      },
      false,
    );
  }

  async close(): Promise<void> {
    this.#poll?.stop();
    await this.#subscriber?.quit().catch(() => undefined);
  }
}
