import { z } from 'zod';
import { ERROR_CODES, type ErrorCode } from './errors.js';
import { DownloadFailure, DownloadRequest, DownloadResult, DownloadState, DownloadStatus } from './schemas.js';

/** The largest page a list may ask for. */
export const MAX_PAGE_LIMIT = 1000;
export const DEFAULT_PAGE_LIMIT = 100;

const PageLimit = z.coerce
  .number({ error: `must be a whole number from 1 to ${MAX_PAGE_LIMIT}` })
  .int({ error: `must be a whole number from 1 to ${MAX_PAGE_LIMIT}` })
  .min(1, { error: 'must be at least 1' })
  .max(MAX_PAGE_LIMIT, { error: `must be at most ${MAX_PAGE_LIMIT}` })
  .default(DEFAULT_PAGE_LIMIT);

/** An opaque position in a list, as the previous page's `nextCursor` gave it. */
const Cursor = z.string().regex(/^[A-Za-z0-9_-]{1,200}$/, { error: "must be a previous page's nextCursor, unchanged" });

/** What `POST /v1/batches` accepts. Its size limit is the server's FERRY_BATCH_MAX_SIZE, checked by the route. */
export const BatchRequest = z.strictObject({
  downloads: z.array(DownloadRequest, { error: 'must be an array of download requests' }).min(1, { error: 'must hold at least one download' }),
  /** Called once, when every download of the batch has ended. */
  callbackUrl: DownloadRequest.shape.callbackUrl,
});
export type BatchRequest = z.infer<typeof BatchRequest>;

export const BatchState = z.enum(['running', 'completed', 'completed_with_failures', 'cancelled']);
export type BatchState = z.infer<typeof BatchState>;

/** How many members are in each state; `expired` members were removed by retention. */
export const BatchCounts = z.object({
  queued: z.number().int(),
  active: z.number().int(),
  delayed: z.number().int(),
  paused: z.number().int(),
  completed: z.number().int(),
  failed: z.number().int(),
  cancelled: z.number().int(),
  expired: z.number().int(),
});
export type BatchCounts = z.infer<typeof BatchCounts>;

export const BatchMember = z.object({
  id: z.string(),
  url: z.string(),
  state: z.union([DownloadState, z.literal('expired')]),
});
export type BatchMember = z.infer<typeof BatchMember>;

/** What `GET /v1/batches/:id` answers. */
export const BatchStatus = z.object({
  id: z.string(),
  state: BatchState,
  size: z.number().int(),
  counts: BatchCounts,
  bytes: z.object({
    received: z.number().int(),
    /** The sum of the sizes origins announced; null until every member's size is known. */
    expected: z.number().int().nullable(),
  }),
  createdAt: z.iso.datetime(),
  finishedAt: z.iso.datetime().nullable(),
  members: z.object({ items: z.array(BatchMember), nextCursor: z.string().nullable() }),
});
export type BatchStatus = z.infer<typeof BatchStatus>;

/** A batch without its member page, as its completion callback carries it. */
export const BatchSummary = BatchStatus.omit({ members: true });
export type BatchSummary = z.infer<typeof BatchSummary>;

/** What `POST /v1/batches` answers (202). */
export const BatchAccepted = z.object({
  id: z.string(),
  size: z.number().int(),
  /** The download ids, in the order of the request's `downloads`. */
  downloads: z.array(z.string()),
});
export type BatchAccepted = z.infer<typeof BatchAccepted>;

/** The query of `GET /v1/batches/:id`: a page of its members. */
export const BatchQuery = z.strictObject({ limit: PageLimit, cursor: Cursor.optional() });

/** The query of `GET /v1/downloads`. */
export const ListQuery = z.strictObject({
  state: DownloadState.optional(),
  batch: z.string().min(1).max(200).optional(),
  limit: PageLimit,
  cursor: Cursor.optional(),
});
export type ListQuery = z.infer<typeof ListQuery>;

/** A page of downloads, newest first (batch members in batch order); `nextCursor` is null on the last page. */
export const DownloadList = z.object({ items: z.array(DownloadStatus), nextCursor: z.string().nullable() });
export type DownloadList = z.infer<typeof DownloadList>;

/** What the POST, retry, pause, resume and cancel routes answer: the download's id and its state now. */
export const DownloadAccepted = z.object({ id: z.string(), state: z.union([DownloadState, z.literal('expired')]), url: z.string() });
export type DownloadAccepted = z.infer<typeof DownloadAccepted>;

/**
 * Server-Sent Events of `GET /v1/downloads/:id/events` (and, for every member,
 * of `GET /v1/batches/:id/events`). The SSE `event:` field is `type`; `data:` is this object as JSON.
 * The first event is a `state` event with the status as it is (then, if it has not ended but has bytes, a
 * `progress` event with no speed); a download stream ends after `completed`, `failed` or `cancelled`.
 */
export const DownloadEvent = z.discriminatedUnion('type', [
  z.object({ type: z.literal('state'), id: z.string(), state: DownloadState }),
  z.object({
    type: z.literal('progress'),
    id: z.string(),
    receivedBytes: z.number().int(),
    totalBytes: z.number().int().nullable(),
    /** Averaged over the last few seconds; null until two progress reports arrived. */
    bytesPerSecond: z.number().nullable(),
    /** Seconds left at that speed; null when the size or the speed is unknown. */
    etaSeconds: z.number().nullable(),
  }),
  z.object({ type: z.literal('completed'), id: z.string(), result: DownloadResult }),
  z.object({ type: z.literal('failed'), id: z.string(), error: DownloadFailure }),
  z.object({ type: z.literal('cancelled'), id: z.string() }),
]);
export type DownloadEvent = z.infer<typeof DownloadEvent>;

/** Batch streams send this after the members' opening events, after each member ends, and once more, as the last event, when the batch ends. */
export const BatchProgressEvent = z.object({
  type: z.literal('batch'),
  id: z.string(),
  state: BatchState,
  counts: BatchCounts,
});
export type BatchProgressEvent = z.infer<typeof BatchProgressEvent>;

/** What every API error answers (docs/errors.md); the OpenAPI document is generated from this schema. */
export const ErrorBody = z.object({
  code: z.enum(Object.keys(ERROR_CODES) as [ErrorCode, ...ErrorCode[]]),
  message: z.string(),
  /** One entry per problem with the request, for FERRY_ERR_VALIDATION. */
  issues: z.array(z.object({ path: z.string(), message: z.string() })).optional(),
});
export type ErrorBody = z.infer<typeof ErrorBody>;
