import type { Queue } from 'bullmq';
import type { Redis } from 'ioredis';
import { loadDownloadStatus, type DownloadIndex, type DownloadJob, type DownloadList, type ListQuery } from '@ferry/core';
import { invalidRequest } from './errors.js';

// A state filter may skip many downloads; one request reads at most this many before it answers with a cursor.
const MAX_SCANNED = 5000;

const encodeCursor = (member: string) => Buffer.from(member).toString('base64url');

function decodeCursor(cursor: string): string {
  const member = Buffer.from(cursor, 'base64url').toString();
  if (!/^\d{15}:[\x21-\x7e]{1,200}$/.test(member)) {
    throw invalidRequest([{ path: 'cursor', message: "is not a cursor this API gave out: pass a previous page's nextCursor unchanged" }], 'list query');
  }
  return member;
}

/**
 * One page of an owner's downloads, newest first. The cursor is the last index
 * entry looked at, so pages neither repeat nor skip downloads however many are
 * added meanwhile (new ones go before the first page). With a state filter a
 * page may hold fewer than `limit` items and still have a next cursor.
 */
export async function listDownloads(queue: Queue, redis: Redis, index: DownloadIndex, owner: string, query: ListQuery): Promise<DownloadList> {
  const items: DownloadList['items'] = [];
  let before = query.cursor === undefined ? undefined : decodeCursor(query.cursor);
  let scanned = 0;
  for (;;) {
    const chunk = await index.page(owner, query.limit, before);
    const loaded = await Promise.all(chunk.map(({ id }) => loadDownloadStatus(queue, redis, id)));
    const gone: string[] = [];
    let looked = 0;
    for (const [i, entry] of chunk.entries()) {
      const download = loaded[i];
      before = entry.member;
      looked += 1;
      if (download === undefined || (download.job.data as Partial<DownloadJob>).owner !== owner) gone.push(entry.member);
      else if ((query.state === undefined || download.status.state === query.state) && (query.batch === undefined || download.status.batchId === query.batch)) {
        items.push(download.status);
      }
      if (items.length === query.limit) break;
    }
    scanned += looked;
    // Retention removed these jobs; the index forgets them as it finds them.
    await index.remove(owner, gone);
    if (chunk.length < query.limit && looked === chunk.length) return { items, nextCursor: null };
    if (before !== undefined && (items.length === query.limit || scanned >= MAX_SCANNED)) return { items, nextCursor: encodeCursor(before) };
  }
}
