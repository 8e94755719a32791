import { randomUUID } from 'node:crypto';
import type { Queue } from 'bullmq';
import type { FastifyPluginAsync } from 'fastify';
import { BatchQuery, BatchRequest, FerryError, type BatchStore, type DownloadIndex } from '@ferry/core';
import { checkCallbackUrl, checkDownloadRequest, type RequestPolicy } from '../check-download-request.js';
import { enqueueDownloads } from '../enqueue.js';
import { invalidRequest, validationError } from '../errors.js';
import { ownBatch, ownerOf } from '../owner.js';

export interface BatchRoutesOptions {
  readonly queue: Queue;
  readonly policy: RequestPolicy;
  readonly index: DownloadIndex;
  readonly batches: BatchStore;
  readonly maxSize: number;
  readonly bodyLimitBytes: number;
}

type Issue = { path: string; message: string };

/** The problems of one coded failure, with paths under `at`: the item's own fields, or the item itself for a refused destination. */
function issuesOf(err: unknown, at: string): Issue[] {
  if (!(err instanceof FerryError)) throw err;
  const issues = err.data['issues'];
  if (Array.isArray(issues)) return (issues as Issue[]).map((i) => ({ path: i.path === '' ? at : `${at}.${i.path}`, message: i.message }));
  return [{ path: at, message: `${err.code}: ${err.message}` }];
}

/** Each item's checks beyond the schema, collected so that one 400 names every failing index. */
function policyIssues(batch: BatchRequest, policy: RequestPolicy): Issue[] {
  const issues: Issue[] = [];
  batch.downloads.forEach((download, i) => {
    if (download.idempotencyKey !== undefined) {
      issues.push({ path: `downloads.${i}.idempotencyKey`, message: 'cannot be used in a batch: the batch is accepted whole or not at all' });
    }
    try {
      checkDownloadRequest(download, policy);
    } catch (err) {
      issues.push(...issuesOf(err, `downloads.${i}`));
    }
  });
  try {
    checkCallbackUrl(batch.callbackUrl, policy);
  } catch (err) {
    issues.push(...issuesOf(err, 'callbackUrl'));
  }
  return issues;
}

function parseCursor(cursor: string | undefined, size: number): number {
  if (cursor === undefined) return 0;
  const offset = /^\d{1,9}$/.test(cursor) ? Number(cursor) : NaN;
  if (!(offset <= size)) throw invalidRequest([{ path: 'cursor', message: "must be a previous page's nextCursor, unchanged" }], 'query');
  return offset;
}

export const batchRoutes: FastifyPluginAsync<BatchRoutesOptions> = async (app, { queue, policy, index, batches, maxSize, bodyLimitBytes }) => {
  app.post('/v1/batches', { bodyLimit: bodyLimitBytes }, async (request, reply) => {
    // Counted before parsing: a body far over the limit should not be validated item by item only to be refused.
    const given = (request.body as { downloads?: unknown } | null)?.downloads;
    if (Array.isArray(given) && given.length > maxSize) {
      throw invalidRequest([{ path: 'downloads', message: `holds ${given.length} downloads; a batch holds at most ${maxSize} (FERRY_BATCH_MAX_SIZE): split it` }], 'batch');
    }
    const parsed = BatchRequest.safeParse(request.body);
    if (!parsed.success) throw validationError(parsed.error, Object.keys(BatchRequest.shape), 'batch');
    const issues = policyIssues(parsed.data, policy);
    if (issues.length > 0) throw invalidRequest(issues, 'batch');

    const owner = ownerOf(request);
    const id = randomUUID();
    const members = parsed.data.downloads.map((download) => ({ id: randomUUID(), job: { owner, request: download, batchId: id } }));
    await batches.create({
      id,
      owner,
      createdAt: Date.now(),
      callbackUrl: parsed.data.callbackUrl,
      members: members.map((m) => ({ id: m.id, url: m.job.request.url })),
    });
    try {
      await enqueueDownloads(queue, index, members);
    } catch (err) {
      await batches.remove(id).catch(() => undefined);
      throw err;
    }
    request.log.info({ batchId: id, size: members.length, owner }, 'batch enqueued');
    return reply
      .status(202)
      .header('location', `/v1/batches/${id}`)
      .send({ id, size: members.length, downloads: members.map((m) => m.id) });
  });

  app.get<{ Params: { id: string } }>('/v1/batches/:id', async (request, reply) => {
    const query = BatchQuery.safeParse(request.query);
    if (!query.success) throw validationError(query.error, Object.keys(BatchQuery.shape), 'query');
    const batch = await ownBatch(request, batches, request.params.id);
    const offset = parseCursor(query.data.cursor, batch.size);
    const [{ summary }, items] = await Promise.all([batches.summary(batch), batches.page(batch, offset, query.data.limit)]);
    const next = offset + items.length;
    return reply.send({ ...summary, members: { items, nextCursor: next < batch.size ? String(next) : null } });
  });
};
