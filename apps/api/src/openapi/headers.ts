import type { OpenAPIV3_1 } from 'openapi-types';
import { IDEMPOTENCY_KEY, MAX_PAGE_LIMIT } from '@ferry/contract';
import type { RequestHeader, ResponseHeader } from './operation.js';

const text = { type: 'string' } as const;

/** `components.headers`: the response headers routes name. */
export const RESPONSE_HEADERS: Readonly<Record<ResponseHeader, OpenAPIV3_1.HeaderObject>> = {
  Location: { description: 'The URL of the resource the request made or acted on, e.g. `/v1/downloads/{id}`.', schema: text },
  'Retry-After': { description: 'Seconds to wait before retrying.', schema: { type: 'integer', minimum: 0 } },
  'WWW-Authenticate': { description: '`Bearer realm="Ferry API"`.', schema: text },
  ETag: { description: "The stored file's entity tag, for `If-None-Match` and `If-Range`.", schema: text },
  'Accept-Ranges': { description: '`bytes`: ranged requests are supported.', schema: text },
  'Content-Range': { description: 'Which bytes of the file this is: `bytes 1000-1999/100000`.', schema: text },
  'Content-Disposition': { description: "`attachment` with the stored file's name (`filename*=UTF-8''…`).", schema: text },
  'Content-Length': { description: 'The number of bytes in this response.', schema: { type: 'integer', minimum: 0 } },
};

/** `components.parameters`: request headers, keyed by their name. */
export const REQUEST_HEADERS: Readonly<Record<RequestHeader, OpenAPIV3_1.ParameterObject>> = {
  'Idempotency-Key': {
    name: 'Idempotency-Key',
    in: 'header',
    description: 'Makes a retried POST safe: the same key with the same body answers with the first download (200) instead of enqueueing again.',
    schema: { type: 'string', pattern: IDEMPOTENCY_KEY.source },
  },
  Range: { name: 'Range', in: 'header', description: 'One byte range, e.g. `bytes=1000-1999` or `bytes=-10` (the last 10 bytes).', schema: text },
  'If-Range': { name: 'If-Range', in: 'header', description: 'An `ETag`: serve the range only if the file still has it, else the whole file.', schema: text },
  'If-None-Match': { name: 'If-None-Match', in: 'header', description: 'An `ETag`: answer 304 if the file still has it.', schema: text },
  'If-Match': { name: 'If-Match', in: 'header', description: 'An `ETag`: answer 412 unless the file still has it.', schema: text },
  'If-Unmodified-Since': { name: 'If-Unmodified-Since', in: 'header', description: 'An HTTP date: answer 412 if the file changed since.', schema: text },
};

/** What the query parameters mean; their types and limits come from the zod schemas. */
export const QUERY_DESCRIPTIONS: Readonly<Record<string, string>> = {
  state: 'Only downloads in this state.',
  batch: "Only this batch's members, in batch order.",
  limit: `How many items a page holds, 1 to ${MAX_PAGE_LIMIT}.`,
  cursor: "The previous page's `nextCursor`, unchanged; omit it for the first page.",
};
