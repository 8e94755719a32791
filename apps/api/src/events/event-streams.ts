import type { FastifyReply } from 'fastify';
import type { DownloadEvent } from '@ferry/contract';
import { openEventStream, type EventStream } from './event-stream.js';
import type { JobEventHub, JobEventListener } from './job-event-hub.js';

/**
 * Says what a stream sends after its snapshot: the listener for each later event,
 * or undefined once it has ended the stream.
 */
export type StreamStart<T> = (stream: EventStream, snapshot: T) => Promise<JobEventListener | undefined>;

/** The event streams open on one server, fed by its hub. */
export class EventStreams {
  readonly #hub: JobEventHub;
  readonly #open = new Set<EventStream>();

  constructor(hub: JobEventHub) {
    this.#hub = hub;
  }

  /**
   * Subscribes to `ids`, then reads the snapshot, and only then starts the
   * stream: events that arrive meanwhile are held and passed on after the
   * snapshot, so none falls between the two.
   */
  async open<T>(reply: FastifyReply, ids: readonly string[], snapshot: () => Promise<T>, start: StreamStart<T>): Promise<void> {
    const relay: { held: DownloadEvent[] | undefined; to: JobEventListener | undefined } = { held: [], to: undefined };
    const unsubscribe = await this.#hub.subscribe(ids, (event) => {
      if (relay.held !== undefined) relay.held.push(event);
      else relay.to?.(event);
    });
    let value: T;
    try {
      value = await snapshot();
    } catch (err) {
      unsubscribe();
      throw err;
    }
    const opened = openEventStream(reply, () => {
      unsubscribe();
      this.#open.delete(opened);
    });
    this.#open.add(opened);
    const onEvent = await start(opened, value);
    if (onEvent === undefined) return;
    const held = relay.held ?? [];
    relay.held = undefined;
    relay.to = onEvent;
    for (const event of held) onEvent(event);
  }

  /** Open streams would keep the server from closing: they are ended first. */
  endAll(): void {
    for (const stream of this.#open) stream.end();
  }
}
