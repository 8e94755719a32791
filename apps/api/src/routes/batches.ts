import type { Queue } from 'bullmq';
import type { FastifyPluginAsync } from 'fastify';
import { BatchQuery, BatchRequest, DEFAULT_PAGE_LIMIT, FerryError, UNFINISHED_STATES, type BatchMember, type BatchStatus } from '@ferry/contract';
import {
  newId,
  type BatchRecord,
  type BatchStore,
  type DownloadEndings,
  type DownloadControl,
  type DownloadIndex,
  type HeaderSealer,
} from '@ferry/core';
import { checkCallbackUrl, checkDownloadRequest, type RequestPolicy } from '../check-download-request.js';
import { cancelDownload } from '../cancel-download.js';
import { enqueueDownloads } from '../enqueue.js';
import { invalidRequest, validationError } from '../errors.js';
import { ownBatch, ownerOf } from '../owner.js';

export interface BatchRoutesOptions {
  readonly queue: Queue;
  readonly policy: RequestPolicy;
  readonly index: DownloadIndex;
  readonly batches: BatchStore;
  readonly control: DownloadControl;
  /** Reports the end of a download cancelled here rather than by a worker (its callback, its batch count). */
  readonly endings: DownloadEndings;
  readonly maxSize: number;
  readonly bodyLimitBytes: number;
  readonly sealer: HeaderSealer;
}

type Issue = { path: string; message: string };

// Cancels in flight at once: enough to cancel 10,000 members in a few round trips, few enough not to flood Redis.
const CANCEL_CONCURRENCY = 256;

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

export const batchRoutes: FastifyPluginAsync<BatchRoutesOptions> = async (app, { queue, policy, index, batches, control, endings, maxSize, bodyLimitBytes, sealer }) => {
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
    const id = newId();
    const members = parsed.data.downloads.map((download) => ({ id: newId(), job: { request: download, batchId: id } }));
    await batches.create({
      id,
      owner,
      createdAt: Date.now(),
      callbackUrl: parsed.data.callbackUrl,
      members: members.map((m) => ({ id: m.id, url: m.job.request.url })),
    });
    try {
      await enqueueDownloads({ queue, index, sealer }, owner, members);
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
    return reply.send(await statusOf(batch, parseCursor(query.data.cursor, batch.size), query.data.limit));
  });

  app.delete<{ Params: { id: string } }>('/v1/batches/:id', async (request, reply) => {
    const batch = await ownBatch(request, batches, request.params.id);
    // A second DELETE answers like the first; a batch that ended has nothing left to cancel.
    if (!batch.cancelled) {
      const running = (await batches.page(batch, 0, batch.size)).filter((m) => UNFINISHED_STATES.has(m.state));
      if (running.length === 0) throw new FerryError('FERRY_ERR_WRONG_STATE', `batch ${batch.id} has ended; only a running batch can be cancelled`);
      await batches.markCancelled(batch.id);
      await cancelMembers(running);
      request.log.info({ batchId: batch.id, cancelled: running.length }, 'batch cancelled');
    }
    // Read again: members that ended meanwhile may have set the batch's finishedAt.
    const current = await ownBatch(request, batches, batch.id);
    return reply.status(202).header('location', `/v1/batches/${batch.id}`).send(await statusOf(current, 0, DEFAULT_PAGE_LIMIT));
  });

  async function statusOf(batch: BatchRecord, offset: number, limit: number): Promise<BatchStatus> {
    const [{ summary }, items] = await Promise.all([batches.summary(batch), batches.page(batch, offset, limit)]);
    const next = offset + items.length;
    return { ...summary, members: { items, nextCursor: next < batch.size ? String(next) : null } };
  }

  /** Cancels `members` as DELETE /v1/downloads/:id would: waiting ones at once, active ones by their workers. */
  async function cancelMembers(members: readonly BatchMember[]): Promise<void> {
    for (let from = 0; from < members.length; from += CANCEL_CONCURRENCY) {
      await Promise.all(members.slice(from, from + CANCEL_CONCURRENCY).map(({ id }) => cancelDownload(control, queue, endings, id)));
    }
  }
};
