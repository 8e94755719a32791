import type { z } from 'zod';
import type { ErrorCode } from '@ferry/contract';

/** Headers the document defines once (components/headers) and responses name. */
export type ResponseHeader =
  'Location' | 'Retry-After' | 'WWW-Authenticate' | 'ETag' | 'Accept-Ranges' | 'Content-Range' | 'Content-Disposition' | 'Content-Length';

/** Request headers the document defines once (components/parameters). */
export type RequestHeader = 'Idempotency-Key' | 'Range' | 'If-Range' | 'If-None-Match' | 'If-Match' | 'If-Unmodified-Since';

/** What a successful response carries. */
export type SuccessBody =
  /** JSON described by a schema registered in `schemas.ts`, with an example where the generated one would mislead. */
  | { readonly json: z.ZodType; readonly example?: unknown }
  /** Server-Sent Events whose `data:` lines are these schemas, as JSON. */
  | { readonly events: readonly z.ZodType[]; readonly example: string }
  /** The stored file's bytes, in the origin's Content-Type. */
  | { readonly file: true };

export interface SuccessResponse {
  readonly description: string;
  readonly body?: SuccessBody;
  readonly headers?: readonly ResponseHeader[];
}

/** One row of the API's table: everything the OpenAPI document says about a route. */
export interface Operation {
  readonly method: 'get' | 'post' | 'delete';
  /** In OpenAPI form: `/v1/downloads/{id}`. */
  readonly path: string;
  readonly operationId: string;
  readonly tag: 'downloads' | 'batches' | 'health';
  readonly summary: string;
  readonly description: string;
  /** Reachable without an API key (and so without its rate limit). */
  readonly public?: boolean;
  /** Its fields become query parameters. */
  readonly query?: z.ZodObject;
  /** The JSON request body, a schema registered in `schemas.ts`. */
  readonly body?: z.ZodType;
  readonly headers?: readonly RequestHeader[];
  readonly responses: Readonly<Record<number, SuccessResponse>>;
  /** The error codes this route answers with, beyond those every /v1 route may: when each happens. The HTTP status is `ERROR_CODES[code].httpStatus`. */
  readonly errors: Readonly<Partial<Record<ErrorCode, string>>>;
}
