import {
  BatchAccepted,
  BatchProgressEvent,
  BatchQuery,
  BatchRequest,
  BatchStatus,
  DownloadAccepted,
  DownloadEvent,
  DownloadList,
  DownloadRequest,
  DownloadStatus,
  ListQuery,
  MAX_PAGE_LIMIT,
  type DownloadState,
} from '@ferry/contract';
import { PROGRESS_INTERVAL_MS } from '@ferry/engine';
import { HEARTBEAT_MS } from '../events/event-stream.js';
import { SPEED_WINDOW_MS } from '../events/speed-meter.js';
import { STOP_WAIT_MS } from '../stop-download.js';
import type { Operation, SuccessBody } from './operation.js';

const seconds = (ms: number): string => `${ms / 1000} s`;

const NOT_FOUND = 'no download with this id for this API key: it never existed, retention removed it, or another key made it';
const BATCH_NOT_FOUND = 'no batch with this id for this API key: it never existed, retention removed it, or another key made it';
const BAD_BODY = 'the body is not valid: `issues` names each field and what it must be; nothing was enqueued';
const NOT_JSON = 'the body was sent with a Content-Type the API does not read: send `application/json`';

/** An example stream: each event is an `event:` line with its type and a `data:` line with it as JSON. */
const sse = (events: ReadonlyArray<{ type: string }>): string => events.map((event) => `event: ${event.type}\ndata: ${JSON.stringify(event)}\n\n`).join('');
const ID = '6f1c0a52-0d0e-4a53-9a3e-2f6a1b1f5c11';
const DOWNLOAD_EVENTS: DownloadEvent[] = [
  { type: 'state', id: ID, state: 'active' },
  { type: 'progress', id: ID, receivedBytes: 524288, totalBytes: 1048576, bytesPerSecond: 262144, etaSeconds: 2 },
  {
    type: 'completed',
    id: ID,
    result: {
      location: 'file:///srv/ferry/files/data.csv',
      filename: 'data.csv',
      bytes: 1048576,
      sha256: '…',
      digest: null,
      contentType: 'text/csv',
      etag: null,
      lastModified: null,
    },
  },
];
/** What the POST and control routes answer, with the state each one leaves the download in. */
const accepted = (state: DownloadAccepted['state']): SuccessBody => ({
  json: DownloadAccepted,
  example: { id: ID, state, url: 'https://example.com/data.csv' } satisfies DownloadAccepted,
});
const BATCH_EVENT: BatchProgressEvent = {
  type: 'batch',
  id: 'b7a2d3c4-5e6f-4a1b-8c9d-0e1f2a3b4c5d',
  state: 'completed',
  counts: { queued: 0, active: 0, delayed: 0, paused: 0, completed: 1, failed: 0, cancelled: 0, expired: 0 },
};

/** Cancel and pause act at once, unless a worker is running the download: then that worker stops it, a moment later. */
const stoppedBy = (state: string): string =>
  `Works from any API replica, whichever worker runs the download. A waiting download is ${state} at once; an active one is stopped by its worker (told over Redis), ` +
  `and the answer waits up to ${seconds(STOP_WAIT_MS)} for it: \`200\` with \`state: "${state}"\`, or \`202\` with \`state: "active"\` if the worker has not confirmed yet (it still will). ` +
  `Asking again for a download already ${state} answers \`200\`.`;
const stopResponses = (done: string, state: DownloadState): Operation['responses'] => ({
  200: { description: done, body: accepted(state), headers: ['Location'] },
  202: { description: 'The download is active; its worker is stopping it.', body: accepted('active'), headers: ['Location'] },
});

/** The routes Ferry serves, in the order the document lists them. */
export const OPERATIONS: readonly Operation[] = [
  {
    method: 'post',
    path: '/v1/downloads',
    operationId: 'createDownload',
    tag: 'downloads',
    summary: 'Enqueue a download',
    description: [
      'Validates the request, checks the URL against the egress policy, and enqueues one download. Unknown fields are refused.',
      '',
      '**Idempotency**: send an `Idempotency-Key` header (or the `idempotencyKey` field; both must agree when both are sent). ' +
        'A retried POST with the same key and the same body answers `200` with the first download instead of enqueueing again — ' +
        'also after retention removed the job (`state: "expired"`), for `FERRY_IDEMPOTENCY_TTL_SECONDS`. ' +
        'The same key with a different body is `409 FERRY_ERR_IDEMPOTENCY_CONFLICT`. Keys are per API key. ' +
        'An id is answered only once its download is in the queue: if the first request lost Redis before enqueueing (it answered `503`), a retry enqueues the download under the same id and answers `202`.',
    ].join('\n'),
    body: DownloadRequest,
    headers: ['Idempotency-Key'],
    responses: {
      202: {
        description: 'Enqueued (`delayed` with `delayMs` or `notBefore`); `Location` is the status URL.',
        body: accepted('queued'),
        headers: ['Location'],
      },
      200: {
        description: 'An `Idempotency-Key` replay: the download the first request made, in its state now.',
        body: accepted('completed'),
        headers: ['Location'],
      },
    },
    errors: {
      FERRY_ERR_VALIDATION: BAD_BODY,
      FERRY_ERR_BLOCKED_DESTINATION:
        'the URL (or callbackUrl) shows a destination workers may not reach: a non-public address, a port other than 80/443, a user name…',
      FERRY_ERR_IDEMPOTENCY_CONFLICT: 'the Idempotency-Key was used, by this API key, for a different body',
      FERRY_ERR_PAYLOAD_TOO_LARGE: 'the body is larger than FERRY_API_BODY_LIMIT_BYTES',
      FERRY_ERR_UNSUPPORTED_MEDIA_TYPE: NOT_JSON,
    },
  },
  {
    method: 'get',
    path: '/v1/downloads',
    operationId: 'listDownloads',
    tag: 'downloads',
    summary: "List this key's downloads",
    description:
      "A page of this API key's downloads, newest first; with `batch`, that batch's members in batch order. " +
      '**Cursor pagination**: pass the `nextCursor` of a page as `cursor` to get the next one, unchanged; it is `null` on the last page. ' +
      'A cursor is a position, not an offset: downloads added while you page go before the first page and never shift later ones. ' +
      'With a filter a page can hold fewer than `limit` items and still have a `nextCursor`.',
    query: ListQuery,
    responses: { 200: { description: 'A page of downloads.', body: { json: DownloadList } } },
    errors: {
      FERRY_ERR_VALIDATION: `a query parameter is not valid (an unknown state, a limit outside 1-${MAX_PAGE_LIMIT}, a cursor that was not a nextCursor, an unknown parameter)`,
    },
  },
  {
    method: 'get',
    path: '/v1/downloads/{id}',
    operationId: 'getDownload',
    tag: 'downloads',
    summary: "A download's state, progress and result",
    description:
      `\`progress\` is updated at most every ${PROGRESS_INTERVAL_MS} ms while bytes arrive; \`attempts.made\` counts finished attempts. ` +
      'A failed (or retrying) download has `error: { code, message, retryable }`: `retryable: false` means the same request will not succeed later. ' +
      'A cancelled download has `state: "cancelled"` and `error.code` `FERRY_ERR_CANCELLED`.',
    responses: { 200: { description: 'The download.', body: { json: DownloadStatus } } },
    errors: { FERRY_ERR_NOT_FOUND: NOT_FOUND },
  },
  {
    method: 'delete',
    path: '/v1/downloads/{id}',
    operationId: 'cancelDownload',
    tag: 'downloads',
    summary: 'Cancel a download',
    description: `Cancels a queued, delayed, paused or active download: it ends in \`cancelled\` (not \`failed\`, \`error.code\` \`FERRY_ERR_CANCELLED\`) and its partial file is removed. ${stoppedBy('cancelled')}`,
    responses: stopResponses('Cancelled.', 'cancelled'),
    errors: { FERRY_ERR_NOT_FOUND: NOT_FOUND, FERRY_ERR_WRONG_STATE: 'the download has already completed or failed' },
  },
  {
    method: 'post',
    path: '/v1/downloads/{id}/pause',
    operationId: 'pauseDownload',
    tag: 'downloads',
    summary: 'Pause a download',
    description: `Stops a queued, delayed or active download and keeps what it fetched (the part file and its checkpoint) without spending an attempt; it stays paused until \`POST /v1/downloads/{id}/resume\`. ${stoppedBy('paused')}`,
    responses: stopResponses('Paused.', 'paused'),
    errors: { FERRY_ERR_NOT_FOUND: NOT_FOUND, FERRY_ERR_WRONG_STATE: 'the download has ended (completed, failed or cancelled)' },
  },
  {
    method: 'post',
    path: '/v1/downloads/{id}/resume',
    operationId: 'resumeDownload',
    tag: 'downloads',
    summary: 'Resume a paused download',
    description:
      'Queues a paused download again. It continues with a `Range` request from the kept bytes when the origin gave a validator (a strong `ETag` or `Last-Modified`), otherwise from the start.',
    responses: { 202: { description: 'Queued again.', body: accepted('queued'), headers: ['Location'] } },
    errors: { FERRY_ERR_NOT_FOUND: NOT_FOUND, FERRY_ERR_WRONG_STATE: 'the download is not paused, or its worker is still pausing it' },
  },
  {
    method: 'post',
    path: '/v1/downloads/{id}/retry',
    operationId: 'retryDownload',
    tag: 'downloads',
    summary: 'Retry a failed or cancelled download',
    description: 'Runs a failed or cancelled download again, with the full number of attempts (resuming from kept bytes when it can), under the same id.',
    responses: { 202: { description: 'Queued again.', body: accepted('queued'), headers: ['Location'] } },
    errors: { FERRY_ERR_NOT_FOUND: NOT_FOUND, FERRY_ERR_NOT_RETRYABLE_STATE: 'the download is neither failed nor cancelled' },
  },
  {
    method: 'get',
    path: '/v1/downloads/{id}/content',
    operationId: 'getDownloadContent',
    tag: 'downloads',
    summary: "A completed download's file",
    description:
      "Streams the stored file with the origin's `Content-Type`, `Content-Length`, `ETag` and `Content-Disposition: attachment`. " +
      '**Range**: `Range: bytes=…` (one range) answers `206` with `Content-Range`; `If-Range` with the `ETag` makes the range conditional on the file being the same. ' +
      "`If-None-Match` with the `ETag` answers `304` when the file has not changed. The API must see the workers' storage directory (`FERRY_STORAGE_DIR`).",
    headers: ['Range', 'If-Range', 'If-None-Match', 'If-Match', 'If-Unmodified-Since'],
    responses: {
      200: { description: 'The whole file.', body: { file: true }, headers: ['Content-Length', 'ETag', 'Accept-Ranges', 'Content-Disposition'] },
      206: {
        description: 'The requested range.',
        body: { file: true },
        headers: ['Content-Range', 'Content-Length', 'ETag', 'Accept-Ranges', 'Content-Disposition'],
      },
      304: { description: 'Not modified: `If-None-Match` matched the `ETag`.', headers: ['ETag'] },
      307: {
        description:
          "With `FERRY_S3_CONTENT=redirect`: `Location` is a presigned GET URL of the object in the bucket, valid `FERRY_S3_PRESIGN_TTL_SECONDS`, given only after the same key and version checks (`Cache-Control: no-store`). The bucket answers `Range` and conditional requests itself. A request from Ferry's own web page (`Sec-Fetch-Site: same-origin`) is streamed instead, as that page may connect to its own origin only.",
        headers: ['Location'],
      },
    },
    errors: {
      FERRY_ERR_NOT_FOUND: `${NOT_FOUND}; or its file is no longer in storage`,
      FERRY_ERR_NOT_READY: 'the download has not completed yet',
      FERRY_ERR_WRONG_STATE: 'the download failed or was cancelled: it has no content unless retried',
      FERRY_ERR_RANGE_NOT_SATISFIABLE: 'the `Range` starts past the end of the file; `Content-Range: bytes */<size>` gives its size',
      FERRY_ERR_PRECONDITION_FAILED: 'an `If-Match` or `If-Unmodified-Since` precondition failed',
    },
  },
  {
    method: 'get',
    path: '/v1/downloads/{id}/events',
    operationId: 'streamDownloadEvents',
    tag: 'downloads',
    summary: "A download's events, live",
    description:
      `Server-Sent Events: each event's \`event:\` line is its \`type\` and its \`data:\` line the event as JSON, with a \`: keep-alive\` comment every ${seconds(HEARTBEAT_MS)}. ` +
      `The first event is a \`state\` event with the state as it is (followed, for a download that has not ended but has bytes, by a \`progress\` event with them and no speed), then one for each change; ` +
      `\`progress\` events come at most every ${PROGRESS_INTERVAL_MS} ms while bytes arrive ` +
      `(\`bytesPerSecond\` averaged over the last ${seconds(SPEED_WINDOW_MS)}). ` +
      'The stream ends after `completed`, `failed` (after the last attempt only) or `cancelled` — at once for a download that has already ended. ' +
      'Any API replica serves any download. An unknown id answers 404 as JSON, without a stream.',
    responses: { 200: { description: 'An event stream.', body: { events: [DownloadEvent], example: sse(DOWNLOAD_EVENTS) } } },
    errors: { FERRY_ERR_NOT_FOUND: NOT_FOUND },
  },
  {
    method: 'post',
    path: '/v1/batches',
    operationId: 'createBatch',
    tag: 'batches',
    summary: 'Enqueue a batch of downloads',
    description:
      'All or nothing: every download is validated first, and one invalid download refuses the whole batch (`issues` name every failing index, e.g. `downloads.3.url`) with nothing enqueued. ' +
      'A batch holds at most `FERRY_BATCH_MAX_SIZE` downloads and its body at most `FERRY_BATCH_BODY_LIMIT_BYTES`. ' +
      '`callbackUrl` is called once, when every download of the batch has ended.',
    body: BatchRequest,
    responses: {
      202: {
        description: 'Enqueued; `downloads` are the ids in request order, `Location` the batch status URL.',
        body: { json: BatchAccepted },
        headers: ['Location'],
      },
    },
    errors: {
      FERRY_ERR_VALIDATION:
        `${BAD_BODY}. Also for more than FERRY_BATCH_MAX_SIZE downloads, an \`idempotencyKey\` on an item, or a URL workers may not reach ` +
        '(its issue, e.g. `downloads.3`, carries FERRY_ERR_BLOCKED_DESTINATION in its message)',
      FERRY_ERR_PAYLOAD_TOO_LARGE: 'the body is larger than FERRY_BATCH_BODY_LIMIT_BYTES',
      FERRY_ERR_UNSUPPORTED_MEDIA_TYPE: NOT_JSON,
    },
  },
  {
    method: 'get',
    path: '/v1/batches/{id}',
    operationId: 'getBatch',
    tag: 'batches',
    summary: "A batch's state, counts and members",
    description:
      '`counts` has one number per member state (`expired` for members retention removed), read from the live jobs. ' +
      '`state` is `running` until no member is waiting or running, then `completed`, or `completed_with_failures` if any member failed or was cancelled; `cancelled` once the batch itself is. ' +
      "`bytes.expected` is `null` while any running member's size is unknown. `members.items` are in request order. " +
      '**Cursor pagination**: pass `members.nextCursor` as `cursor` for the next page of members; it is `null` on the last page.',
    query: BatchQuery,
    responses: { 200: { description: 'The batch.', body: { json: BatchStatus } } },
    errors: {
      FERRY_ERR_NOT_FOUND: BATCH_NOT_FOUND,
      FERRY_ERR_VALIDATION: `a query parameter is not valid (a limit outside 1-${MAX_PAGE_LIMIT}, a cursor that was not a nextCursor)`,
    },
  },
  {
    method: 'delete',
    path: '/v1/batches/{id}',
    operationId: 'cancelBatch',
    tag: 'batches',
    summary: 'Cancel a batch',
    description:
      'Cancels every member that has not ended, as `DELETE /v1/downloads/{id}` would (waiting ones at once, active ones by their workers); members that completed stay completed. ' +
      '`finishedAt` is set once the last active member has stopped; then the `batch.completed` callback (with `state: "cancelled"`) is sent. Cancelling a cancelled batch again answers the same.',
    responses: {
      202: { description: 'The batch, now `state: "cancelled"`, with its first page of members.', body: { json: BatchStatus }, headers: ['Location'] },
    },
    errors: { FERRY_ERR_NOT_FOUND: BATCH_NOT_FOUND, FERRY_ERR_WRONG_STATE: 'the batch has ended on its own: there is nothing left to cancel' },
  },
  {
    method: 'get',
    path: '/v1/batches/{id}/events',
    operationId: 'streamBatchEvents',
    tag: 'batches',
    summary: "A batch's events, live",
    description:
      'Server-Sent Events, framed as for a download. First every member as its own stream would open (`state`, then its final event if it has ended, or its bytes so far), ' +
      'so members that changed while no stream was open are known at once; then a `batch` event with the counts as they are, the live events of every member, ' +
      'and a `batch` event with fresh counts after members end. The last event is a `batch` event with the final state, then the stream ends.',
    responses: {
      200: { description: 'An event stream.', body: { events: [DownloadEvent, BatchProgressEvent], example: sse([...DOWNLOAD_EVENTS, BATCH_EVENT]) } },
    },
    errors: { FERRY_ERR_NOT_FOUND: BATCH_NOT_FOUND },
  },
  {
    method: 'get',
    path: '/healthz',
    operationId: 'health',
    tag: 'health',
    summary: 'The process is up',
    description: 'Answers while the process serves HTTP; says nothing about Redis. No API key.',
    public: true,
    responses: { 200: { description: '`{"status": "ok"}`' } },
    errors: {},
  },
  {
    method: 'get',
    path: '/readyz',
    operationId: 'ready',
    tag: 'health',
    summary: 'Ready to accept downloads',
    description: 'Redis answers within a second. No API key.',
    public: true,
    responses: { 200: { description: '`{"status": "ready"}`' } },
    errors: { FERRY_ERR_REDIS_UNAVAILABLE: 'Redis did not answer' },
  },
];
