import type { Queue } from 'bullmq';
import type { Redis } from 'ioredis';
import type { FastifyPluginAsync, FastifyReply } from 'fastify';
import { ENDED_STATES, type BatchProgressEvent, type DownloadEvent, type DownloadStatus } from '@ferry/contract';
import { loadDownloadStatus, type BatchRecord, type BatchStore } from '@ferry/core';
import { openEventStream, type EventStream } from '../events/event-stream.js';
import type { JobEventHub, JobEventListener } from '../events/job-event-hub.js';
import { loadOwnDownload, ownBatch } from '../owner.js';

export interface EventRoutesOptions {
  readonly queue: Queue;
  /** The queue's connection. */
  readonly redis: Redis;
  readonly batches: BatchStore;
  readonly hub: JobEventHub;
}

/** The event that ends the stream of a download that has already ended. */
function finalEvent(status: DownloadStatus): DownloadEvent | undefined {
  if (status.state === 'completed' && status.result !== null) return { type: 'completed', id: status.id, result: status.result };
  if (status.state === 'failed' && status.error !== null) return { type: 'failed', id: status.id, error: status.error };
  if (status.state === 'cancelled') return { type: 'cancelled', id: status.id };
  return undefined;
}

/**
 * How a stream opens on a download: its state, then its final event if it has ended,
 * else the bytes it has (without a speed: one report gives none) if it has any, so that
 * a paused or waiting download shows how far it got.
 */
function snapshotEvents(status: DownloadStatus): DownloadEvent[] {
  const state: DownloadEvent = { type: 'state', id: status.id, state: status.state };
  const final = finalEvent(status);
  if (final !== undefined) return [state, final];
  if (status.progress.receivedBytes === 0) return [state];
  return [state, { type: 'progress', id: status.id, ...status.progress, bytesPerSecond: null, etaSeconds: null }];
}

/** Member statuses read at once for a batch stream's first events, as many as a list page reads: 1,000 ended members open in about 0.3 s. */
const LOADS_AT_ONCE = 1000;

/** Runs `task` now, or once more after the run in progress if one is: never two at once, never a request lost. */
function coalesced(task: () => Promise<unknown>): () => void {
  let running = false;
  let again = false;
  const run = async (): Promise<void> => {
    running = true;
    do {
      again = false;
      await task();
    } while (again);
    running = false;
  };
  return () => {
    if (running) again = true;
    else void run();
  };
}

export const eventRoutes: FastifyPluginAsync<EventRoutesOptions> = async (app, { queue, redis, batches, hub }) => {
  const open = new Set<EventStream>();
  // Open streams would keep the server from closing: end them first.
  app.addHook('preClose', async () => {
    for (const stream of open) stream.end();
  });

  /**
   * Subscribes to `ids`, then reads the snapshot, and only then starts the
   * stream: events that arrive meanwhile are held and passed on after the
   * snapshot, so none falls between the two. `start` answers what to do with
   * each later event, or undefined once it has ended the stream.
   */
  async function stream<T>(
    reply: FastifyReply,
    ids: readonly string[],
    snapshot: () => Promise<T>,
    start: (stream: EventStream, snapshot: T) => Promise<JobEventListener | undefined>,
  ): Promise<void> {
    const relay: { held: DownloadEvent[] | undefined; to: JobEventListener | undefined } = { held: [], to: undefined };
    const unsubscribe = hub.subscribe(ids, (event) => {
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
      open.delete(opened);
    });
    open.add(opened);
    const onEvent = await start(opened, value);
    if (onEvent === undefined) return;
    const held = relay.held ?? [];
    relay.held = undefined;
    relay.to = onEvent;
    for (const event of held) onEvent(event);
  }

  app.get<{ Params: { id: string } }>('/v1/downloads/:id/events', async (request, reply) => {
    await stream(
      reply,
      [request.params.id],
      async () => (await loadOwnDownload(request, queue, redis, request.params.id)).status,
      async (events, status) => {
        for (const event of snapshotEvents(status)) events.send(event.type, event);
        if (finalEvent(status) !== undefined) {
          events.end();
          return undefined;
        }
        return (event) => {
          events.send(event.type, event);
          if (ENDED_STATES.has(event.type)) events.end();
        };
      },
    );
  });

  /**
   * Each member as a download stream would open on it. Members that changed while no
   * stream was open (before it opened, or while the client reconnected) send no live
   * event: this is how the client learns of them. Queued members are only named, not
   * read: in a large batch most are, and they have nothing more to show.
   */
  async function memberSnapshot(batch: BatchRecord): Promise<DownloadEvent[]> {
    const snapshot: DownloadEvent[] = [];
    const started: string[] = [];
    for (const { id, state } of await batches.page(batch, 0, batch.size)) {
      if (state === 'queued') snapshot.push({ type: 'state', id, state });
      else if (state !== 'expired') started.push(id);
    }
    for (let i = 0; i < started.length; i += LOADS_AT_ONCE) {
      const loaded = await Promise.all(started.slice(i, i + LOADS_AT_ONCE).map((id) => loadDownloadStatus(queue, redis, id)));
      for (const download of loaded) if (download !== undefined) snapshot.push(...snapshotEvents(download.status));
    }
    return snapshot;
  }

  app.get<{ Params: { id: string } }>('/v1/batches/:id/events', async (request, reply) => {
    const batch = await ownBatch(request, batches, request.params.id);
    await stream(
      reply,
      await batches.memberIds(batch.id),
      async () => ({ batch, members: await memberSnapshot(batch) }),
      async (events, { batch: loaded, members }) => {
        for (const event of members) events.send(event.type, event);
        // The stream is open by now: a failure ends it (the client may reconnect) rather than reaching the error handler.
        const report = async (record: Promise<BatchRecord | undefined>): Promise<boolean> => {
          try {
            const current = await record;
            if (current === undefined) {
              events.end();
              return false;
            }
            const { summary, ended } = await batches.summary(current);
            events.send('batch', { type: 'batch', id: batch.id, state: summary.state, counts: summary.counts } satisfies BatchProgressEvent);
            if (ended) events.end();
            return !ended;
          } catch (err) {
            request.log.warn({ batchId: batch.id, err: (err as Error).message }, 'could not report batch progress');
            events.end();
            return false;
          }
        };
        // Counts are read from the members' live jobs, once per burst of members ending, however many end at once.
        const reportSoon = coalesced(() => report(batches.load(batch.id)));
        if (!(await report(Promise.resolve(loaded)))) return undefined;
        return (event) => {
          events.send(event.type, event);
          if (ENDED_STATES.has(event.type)) reportSoon();
        };
      },
    );
  });
};
