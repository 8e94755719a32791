import { z } from 'zod';
import { ERROR_CODES, type ErrorCode } from './errors.js';
import { unsafeFilenameReason } from './storage/filename.js';

export const MAX_URL_LENGTH = 2048;
export const MAX_HEADER_COUNT = 32;
export const MAX_HEADERS_BYTES = 8 * 1024;

// Headers whose value the engine decides: a caller-supplied one would break framing, caching or routing.
const ENGINE_OWNED_HEADERS = new Set([
  'host',
  'content-length',
  'transfer-encoding',
  'connection',
  'keep-alive',
  'upgrade',
  'te',
  'trailer',
  'expect',
  'range',
  'if-range',
  'accept-encoding',
]);
const HEADER_NAME = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;
// Header values may not carry CR, LF or NUL: they would split the request.
// eslint-disable-next-line no-control-regex
const HEADER_VALUE = /^[^\r\n\u0000]*$/;

const RequestHeaders = z
  .record(
    z
      .string()
      .regex(HEADER_NAME, { error: 'is not a valid header name (letters, digits and !#$%&\'*+.^_`|~- only)' })
      .refine((name) => !ENGINE_OWNED_HEADERS.has(name.toLowerCase()) && !name.toLowerCase().startsWith('proxy-'), {
        error: `is set by Ferry itself; a request may not set ${[...ENGINE_OWNED_HEADERS].join(', ')} or proxy-* headers`,
      }),
    z.string().regex(HEADER_VALUE, { error: 'must not contain CR, LF or NUL' }),
  )
  .refine((headers) => Object.keys(headers).length <= MAX_HEADER_COUNT, {
    error: `may hold at most ${MAX_HEADER_COUNT} headers`,
  })
  .refine(
    (headers) =>
      Object.entries(headers).reduce((sum, [name, value]) => sum + Buffer.byteLength(name) + Buffer.byteLength(value), 0) <=
      MAX_HEADERS_BYTES,
    { error: `may total at most ${MAX_HEADERS_BYTES} bytes of names and values` },
  );

/** What a caller asks Ferry to download. The API validates with it; the worker re-parses job data with it. */
export const DownloadRequest = z.strictObject({
  url: z
    .string({ error: (issue) => (issue.input === undefined ? 'is required' : 'must be a string') })
    .max(MAX_URL_LENGTH, { error: `must be at most ${MAX_URL_LENGTH} characters` })
    .pipe(z.url({ protocol: /^https?$/, error: 'must be an absolute http:// or https:// URL' })),
  filename: z
    .string()
    .superRefine((name, ctx) => {
      const reason = unsafeFilenameReason(name);
      if (reason !== undefined) ctx.addIssue({ code: 'custom', message: reason });
    })
    .optional(),
  headers: RequestHeaders.optional(),
  checksum: z
    .strictObject({
      algorithm: z.literal('sha256', { error: "must be 'sha256'" }),
      value: z
        .string()
        .regex(/^[0-9a-fA-F]{64}$/, { error: 'must be 64 hexadecimal characters' })
        .transform((hex) => hex.toLowerCase()),
    })
    .optional(),
});
export type DownloadRequest = z.infer<typeof DownloadRequest>;

/** What a finished download returns, stored as the BullMQ job's return value. */
export const DownloadResult = z.object({
  location: z.string(),
  filename: z.string(),
  bytes: z.number().int().nonnegative(),
  sha256: z.string(),
  contentType: z.string().nullable(),
});
export type DownloadResult = z.infer<typeof DownloadResult>;

export const DownloadProgress = z.object({
  receivedBytes: z.number().int().nonnegative(),
  totalBytes: z.number().int().nonnegative().nullable(),
});
export type DownloadProgress = z.infer<typeof DownloadProgress>;

export const DownloadState = z.enum(['queued', 'active', 'completed', 'failed', 'delayed']);
export type DownloadState = z.infer<typeof DownloadState>;

export const DownloadFailure = z.object({
  code: z.enum(Object.keys(ERROR_CODES) as [ErrorCode, ...ErrorCode[]]),
  message: z.string(),
  retryable: z.boolean(),
});
export type DownloadFailure = z.infer<typeof DownloadFailure>;

/** What `GET /v1/downloads/:id` answers. */
export const DownloadStatus = z.object({
  id: z.string(),
  url: z.string(),
  state: DownloadState,
  progress: DownloadProgress,
  attempts: z.object({ made: z.number().int(), max: z.number().int() }),
  result: DownloadResult.nullable(),
  error: DownloadFailure.nullable(),
  createdAt: z.iso.datetime(),
  finishedAt: z.iso.datetime().nullable(),
});
export type DownloadStatus = z.infer<typeof DownloadStatus>;
