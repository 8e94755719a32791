import { type BatchStatus } from '@ferry/contract';
import { type BatchRecord, type BatchStore } from '@ferry/core';
import { invalidRequest } from './errors.js';

/** Where a page of a batch's members starts: 0, or a previous page's nextCursor. */
export function parseBatchCursor(cursor: string | undefined, size: number): number {
  if (cursor === undefined) return 0;
  const offset = /^\d{1,9}$/.test(cursor) ? Number(cursor) : NaN;
  if (!(offset <= size)) throw invalidRequest([{ path: 'cursor', message: "must be a previous page's nextCursor, unchanged" }], 'query');
  return offset;
}

/** A batch's summary with one page of its members, from `offset`. */
export async function batchStatus(batches: BatchStore, batch: BatchRecord, offset: number, limit: number): Promise<BatchStatus> {
  const [{ summary }, items] = await Promise.all([batches.summary(batch), batches.page(batch, offset, limit)]);
  const next = offset + items.length;
  return { ...summary, members: { items, nextCursor: next < batch.size ? String(next) : null } };
}
