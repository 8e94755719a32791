import type { Queue } from 'bullmq';
import { type DownloadList, type ListQuery } from '@ferry/contract';
import { DownloadIndex, loadDownloadStatus, type BatchStore, type RedisClient } from '@ferry/core';
import { invalidRequest } from './errors.js';
import { loadBatchOf, ownedBy } from './owner.js';

// A state filter may skip many downloads; one request reads at most this many before it answers with a cursor.
const MAX_SCANNED = 5000;

/** Where a list reads its downloads from, in order; a position is what a cursor remembers. */
interface ListSource {
  /** Up to `count` entries after `after` (from the start without it). */
  next(after: string | undefined, count: number): Promise<Array<{ id: string; position: string }>>;
  /** Entries whose jobs retention removed. */
  forget(positions: string[]): Promise<void>;
  /** Whether `position` is one this source gives out. */
  valid(position: string): boolean;
}

/** The owner's index: newest first. */
const ownerSource = (index: DownloadIndex, owner: string): ListSource => ({
  next: async (after, count) => (await index.page(owner, count, after)).map(({ id, member }) => ({ id, position: member })),
  forget: (members) => index.remove(owner, members),
  valid: (position) => DownloadIndex.isMember(position),
});

/** A batch's members: in the order the batch request listed them. */
const batchSource = (batches: BatchStore, batchId: string): ListSource => ({
  next: async (after, count) => {
    const start = after === undefined ? 0 : Number(after) + 1;
    return (await batches.memberIds(batchId, start, start + count - 1)).map((id, i) => ({ id, position: String(start + i) }));
  },
  forget: async () => undefined,
  valid: (position) => /^\d{1,9}$/.test(position),
});

const encodeCursor = (position: string) => Buffer.from(position).toString('base64url');

function decodeCursor(cursor: string, source: ListSource): string {
  const position = Buffer.from(cursor, 'base64url').toString();
  if (!source.valid(position)) {
    throw invalidRequest(
      [{ path: 'cursor', message: "is not a cursor of this list: pass a previous page's nextCursor unchanged, with the same filters" }],
      'list query',
    );
  }
  return position;
}

interface ListDeps {
  readonly queue: Queue;
  /** The queue's connection. */
  readonly redis: RedisClient;
  readonly index: DownloadIndex;
  readonly batches: BatchStore;
}

/**
 * One page of an owner's downloads: newest first, or with `batch` that batch's
 * members in request order. The cursor is the last entry looked at, so pages
 * neither repeat nor skip downloads however many are added meanwhile (new ones
 * go before the first page). With a state filter a page may hold fewer than
 * `limit` items and still have a next cursor.
 */
export async function listDownloads(deps: ListDeps, owner: string, query: ListQuery): Promise<DownloadList> {
  let source = ownerSource(deps.index, owner);
  if (query.batch !== undefined) {
    source = batchSource(deps.batches, (await loadBatchOf(owner, deps.batches, query.batch)).id);
  }
  const items: DownloadList['items'] = [];
  let after = query.cursor === undefined ? undefined : decodeCursor(query.cursor, source);
  let scanned = 0;
  for (;;) {
    const chunk = await source.next(after, query.limit);
    const loaded = await Promise.all(chunk.map(({ id }) => loadDownloadStatus(deps.queue, deps.redis, id)));
    const gone: string[] = [];
    let looked = 0;
    for (const [i, entry] of chunk.entries()) {
      const download = loaded[i];
      after = entry.position;
      looked += 1;
      if (!ownedBy(download, owner)) gone.push(entry.position);
      else if (query.state === undefined || download.status.state === query.state) items.push(download.status);
      if (items.length === query.limit) break;
    }
    scanned += looked;
    await source.forget(gone);
    if (chunk.length < query.limit && looked === chunk.length) return { items, nextCursor: null };
    if (after !== undefined && (items.length === query.limit || scanned >= MAX_SCANNED)) return { items, nextCursor: encodeCursor(after) };
  }
}
