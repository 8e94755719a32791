import type { Queue } from 'bullmq';
import type { FastifyBaseLogger } from 'fastify';
import { ENDED_STATES, type BatchProgressEvent, type DownloadEvent } from '@ferry/contract';
import { loadDownloadStatus, type BatchRecord, type BatchStore, type RedisClient } from '@ferry/core';
import { coalesced } from './coalesced.js';
import { snapshotEvents } from './download-events.js';
import type { StreamStart } from './event-streams.js';

interface BatchSnapshotDeps {
  readonly queue: Queue;
  /** The queue's connection. */
  readonly redis: RedisClient;
  readonly batches: BatchStore;
}

/** What a batch stream opens with: the batch as read, and its members' first events. */
interface BatchSnapshot {
  readonly batch: BatchRecord;
  readonly members: readonly DownloadEvent[];
}

/** Member statuses read at once for a batch stream's first events, as many as a list page reads: 1,000 ended members open in about 0.3 s. */
const LOADS_AT_ONCE = 1000;

/**
 * Each member as a download stream would open on it. Members that changed while no
 * stream was open (before it opened, or while the client reconnected) send no live
 * event: this is how the client learns of them. Queued members are only named, not
 * read: in a large batch most are, and they have nothing more to show.
 */
export async function batchSnapshot({ queue, redis, batches }: BatchSnapshotDeps, batch: BatchRecord): Promise<BatchSnapshot> {
  const members: DownloadEvent[] = [];
  const started: string[] = [];
  for (const { id, state } of await batches.page(batch, 0, batch.size)) {
    if (state === 'queued') members.push({ type: 'state', id, state });
    else if (state !== 'expired') started.push(id);
  }
  for (let i = 0; i < started.length; i += LOADS_AT_ONCE) {
    const loaded = await Promise.all(started.slice(i, i + LOADS_AT_ONCE).map((id) => loadDownloadStatus(queue, redis, id)));
    for (const download of loaded) if (download !== undefined) members.push(...snapshotEvents(download.status));
  }
  return { batch, members };
}

/** How often and how long a batch stream reads its counts again while they lag behind the ends it has seen (up to 10 s). */
const REREAD_AFTER_MS = 100;
const MAX_REREADS = 100;

/** A batch's stream: its members' snapshot, then their events and the batch's counts after members end, until the batch ends. */
export const followBatch =
  (batches: BatchStore, log: FastifyBaseLogger): StreamStart<BatchSnapshot> =>
  async (events, { batch, members }) => {
    // Members this stream has seen end: the counts must hold them all before the stream can rely on them.
    const endedSeen = new Set<string>();
    const see = (event: DownloadEvent) => {
      events.send(event.type, event);
      if (ENDED_STATES.has(event.type)) endedSeen.add(event.id);
    };
    for (const event of members) see(event);
    let rereads = 0;
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
        if (ended) {
          events.end();
          return false;
        }
        // A worker records a member's end in the batch just after BullMQ announces it, so counts read in
        // between miss it; with no later end to trigger another read, the stream would never see the batch end.
        const { completed, failed, cancelled } = summary.counts;
        if (completed + failed + cancelled < endedSeen.size && rereads < MAX_REREADS && !events.closed) {
          rereads += 1;
          setTimeout(reportSoon, REREAD_AFTER_MS).unref();
        }
        return true;
      } catch (err) {
        log.warn({ batchId: batch.id, err: (err as Error).message }, 'could not report batch progress');
        events.end();
        return false;
      }
    };
    // Counts are read from the members' live jobs, once per burst of members ending, however many end at once.
    const reportSoon = coalesced(() => report(batches.load(batch.id)));
    if (!(await report(Promise.resolve(batch)))) return undefined;
    return (event) => {
      see(event);
      if (ENDED_STATES.has(event.type)) reportSoon();
    };
  };
