import { z } from 'zod';
import { ERROR_CODES, type ErrorCode } from './errors.js';
import { base64ToHex, utf8Length } from './encoding.js';
import { unsafeFilenameReason } from './filename.js';

export const MAX_URL_LENGTH = 2048;
export const MAX_HEADER_COUNT = 32;
export const MAX_HEADERS_BYTES = 8 * 1024;
/** The most connections one download may use; the engine's cap too. */
export const MAX_SEGMENTS = 16;
/** BullMQ's largest priority. */
const MAX_PRIORITY = 2 ** 21;
export const MAX_DELAY_MS = 30 * 24 * 3600 * 1000;
/** Printable ASCII without spaces, as the Idempotency-Key header draft allows; bounded so Redis keys stay small. */
export const IDEMPOTENCY_KEY = /^[\x21-\x7e]{1,255}$/;

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
// RFC 9110 token: what a field name may be.
const HEADER_NAME = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;

const codePoint = (char: string): string => `U+${(char.codePointAt(0) ?? 0).toString(16).toUpperCase().padStart(4, '0')}`;

/**
 * Why a header value cannot be sent as given, if it cannot. RFC 9110 allows visible ASCII, space, tab
 * and obs-text bytes; a string carries them as characters up to U+00FF. Control characters (C0 but tab,
 * DEL, C1) could split or smuggle a request, and the HTTP client refuses them at send time, long after
 * the API said yes; characters beyond U+00FF (U+2028 included) have no single byte to be sent as.
 */
function headerValueProblem(value: string): string | undefined {
  // eslint-disable-next-line no-control-regex
  const bad = /[\u0000-\u0008\u000a-\u001f\u007f-\u009f]|[^\u0000-\u00ff]/u.exec(value);
  if (bad === null) return undefined;
  const char = bad[0];
  const found = `found ${codePoint(char)} at index ${bad.index}`;
  return (char.codePointAt(0) ?? 0) > 0xff
    ? `must not contain characters beyond U+00FF: ${found}; percent-encode it, as HTTP sends header values as bytes`
    : `must not contain control characters: ${found}`;
}

const RequestHeaders = z
  .record(
    z
      .string()
      .regex(HEADER_NAME, { error: "is not a valid header name (letters, digits and !#$%&'*+.^_`|~- only)" })
      .refine((name) => !ENGINE_OWNED_HEADERS.has(name.toLowerCase()) && !name.toLowerCase().startsWith('proxy-'), {
        error: `is set by Ferry itself; a request may not set ${[...ENGINE_OWNED_HEADERS].join(', ')} or proxy-* headers`,
      }),
    z.string().superRefine((value, ctx) => {
      const problem = headerValueProblem(value);
      if (problem !== undefined) ctx.addIssue({ code: 'custom', message: problem });
    }),
  )
  .refine((headers) => Object.keys(headers).length <= MAX_HEADER_COUNT, {
    error: `may hold at most ${MAX_HEADER_COUNT} headers`,
  })
  .refine((headers) => Object.entries(headers).reduce((sum, [name, value]) => sum + utf8Length(name) + utf8Length(value), 0) <= MAX_HEADERS_BYTES, {
    error: `may total at most ${MAX_HEADERS_BYTES} bytes of names and values`,
  });

export const DIGEST_ALGORITHMS = ['sha256', 'sha512', 'sha1', 'md5'] as const;
export type DigestAlgorithm = (typeof DIGEST_ALGORITHMS)[number];
const DIGEST_BYTES: Readonly<Record<DigestAlgorithm, number>> = { sha256: 32, sha512: 64, sha1: 20, md5: 16 };

/** Hex (any case) or base64 (standard or URL-safe, padded or not) of the right length, as lowercase hex. */
function digestToHex(value: string, algorithm: DigestAlgorithm): string | undefined {
  const bytes = DIGEST_BYTES[algorithm];
  if (new RegExp(`^[0-9a-fA-F]{${bytes * 2}}$`).test(value)) return value.toLowerCase();
  if (!/^[A-Za-z0-9+/_-]+={0,2}$/.test(value)) return undefined;
  const hex = base64ToHex(value);
  return hex?.length === bytes * 2 ? hex : undefined;
}

const Checksum = z
  .strictObject({
    algorithm: z.enum(DIGEST_ALGORITHMS, { error: `must be one of ${DIGEST_ALGORITHMS.join(', ')}` }),
    value: z.string({ error: 'must be a string' }),
  })
  .transform((checksum, ctx) => {
    const hex = digestToHex(checksum.value, checksum.algorithm);
    if (hex === undefined) {
      const bytes = DIGEST_BYTES[checksum.algorithm];
      ctx.addIssue({
        code: 'custom',
        path: ['value'],
        message: `must be a ${checksum.algorithm} digest: ${bytes * 2} hexadecimal characters or ${bytes} bytes in base64`,
      });
      return z.NEVER;
    }
    return { algorithm: checksum.algorithm, value: hex };
  });

const positiveMs = () =>
  z.number().int({ error: 'must be a whole number of milliseconds' }).positive({ error: 'must be at least 1' }).max(Number.MAX_SAFE_INTEGER).optional();

/** An absolute http(s) URL, exactly as it will be fetched. */
const HttpUrl = z
  .string({ error: (issue) => (issue.input === undefined ? 'is required' : 'must be a string') })
  .max(MAX_URL_LENGTH, { error: `must be at most ${MAX_URL_LENGTH} characters` })
  // URL parsers silently drop tabs and newlines, so the URL fetched would differ from the one sent: refuse instead.
  // eslint-disable-next-line no-control-regex
  .regex(/^[^\u0000-\u001f\u007f]*$/, { error: 'must not contain control characters (tab, CR, LF…); percent-encode them' })
  .pipe(z.url({ protocol: /^https?$/, error: 'must be an absolute http:// or https:// URL' }));

/** What a caller asks Ferry to download. The API validates with it; the worker re-parses job data with it. */
export const DownloadRequest = z
  .strictObject({
    url: HttpUrl,
    callbackUrl: HttpUrl.optional(),
    /** The same as the Idempotency-Key header, for clients that cannot set headers. */
    idempotencyKey: z.string().regex(IDEMPOTENCY_KEY, { error: 'must be 1-255 printable ASCII characters without spaces' }).optional(),
    filename: z
      .string()
      .superRefine((name, ctx) => {
        const reason = unsafeFilenameReason(name);
        if (reason !== undefined) ctx.addIssue({ code: 'custom', message: reason });
      })
      .optional(),
    headers: RequestHeaders.optional(),
    /**
     * Names of `headers` that still go out after a redirect to another origin (scheme, host or port).
     * Every other header stays with the origin of `url`: credentials come under many names
     * (`X-Api-Key`, `Private-Token`, …), so none may follow unless the caller says so.
     */
    crossOriginHeaders: z
      .array(z.string().regex(HEADER_NAME, { error: 'is not a valid header name' }))
      .max(MAX_HEADER_COUNT, { error: `may name at most ${MAX_HEADER_COUNT} headers` })
      .optional(),
    checksum: Checksum.optional(),
    maxBytes: z.number().int({ error: 'must be a whole number of bytes' }).positive({ error: 'must be at least 1' }).max(Number.MAX_SAFE_INTEGER).optional(),
    timeouts: z
      .strictObject({
        connectMs: positiveMs(),
        headersMs: positiveMs(),
        bodyIdleMs: positiveMs(),
        lowSpeedBytesPerSecond: z
          .number()
          .int({ error: 'must be a whole number' })
          .nonnegative({ error: 'must be 0 or more' })
          .max(Number.MAX_SAFE_INTEGER)
          .optional(),
        lowSpeedWindowMs: positiveMs(),
      })
      .optional(),
    /** 1 is the highest; jobs without one run before any with one, as BullMQ orders them. */
    priority: z
      .number()
      .int({ error: 'must be a whole number' })
      .min(1, { error: 'must be at least 1 (the highest priority)' })
      .max(MAX_PRIORITY, { error: `must be at most ${MAX_PRIORITY}` })
      .optional(),
    delayMs: z
      .number()
      .int({ error: 'must be a whole number of milliseconds' })
      .nonnegative({ error: 'must be 0 or more' })
      .max(MAX_DELAY_MS, { error: `must be at most ${MAX_DELAY_MS} (30 days)` })
      .optional(),
    notBefore: z.iso.datetime({ offset: true, error: 'must be an ISO 8601 date-time such as 2026-12-01T08:00:00Z' }).optional(),
    onConflict: z.enum(['rename', 'overwrite', 'fail'], { error: "must be 'rename', 'overwrite' or 'fail'" }).optional(),
    /** Connections for this download when the origin allows ranges, at most FERRY_SEGMENTS; 1 is one connection. */
    segments: z
      .number()
      .int({ error: 'must be a whole number' })
      .min(1, { error: 'must be at least 1 (one connection)' })
      .max(MAX_SEGMENTS, { error: `must be at most ${MAX_SEGMENTS}` })
      .optional(),
  })
  .refine((request) => request.delayMs === undefined || request.notBefore === undefined, {
    path: ['notBefore'],
    error: 'cannot be combined with delayMs: send one or the other',
  })
  .superRefine((request, ctx) => {
    const sent = new Set(Object.keys(request.headers ?? {}).map((name) => name.toLowerCase()));
    for (const [index, name] of (request.crossOriginHeaders ?? []).entries()) {
      if (!sent.has(name.toLowerCase())) {
        ctx.addIssue({
          code: 'custom',
          path: ['crossOriginHeaders', index],
          message: `names ${name}, which is not one of headers: list only headers the request sends`,
        });
      }
    }
  });
export type DownloadRequest = z.infer<typeof DownloadRequest>;

/** What a finished download returns, stored as the BullMQ job's return value. */
export const DownloadResult = z.object({
  location: z.string(),
  filename: z.string(),
  bytes: z.number().int().nonnegative(),
  /** Always computed, whatever the request asked for. */
  sha256: z.string(),
  /** The request's checksum, verified. */
  digest: z.object({ algorithm: z.enum(DIGEST_ALGORITHMS), value: z.string() }).nullable(),
  contentType: z.string().nullable(),
  etag: z.string().nullable(),
  lastModified: z.string().nullable(),
});
export type DownloadResult = z.infer<typeof DownloadResult>;

export const DownloadProgress = z.object({
  receivedBytes: z.number().int().nonnegative(),
  totalBytes: z.number().int().nonnegative().nullable(),
});
export type DownloadProgress = z.infer<typeof DownloadProgress>;

/**
 * `paused` and `cancelled` are Ferry's own: BullMQ knows neither. A paused job
 * waits in BullMQ's delayed set until resumed; a cancelled one is a failed job
 * whose reason is FERRY_ERR_CANCELLED.
 */
export const DownloadState = z.enum(['queued', 'active', 'delayed', 'paused', 'completed', 'failed', 'cancelled']);
export type DownloadState = z.infer<typeof DownloadState>;
/** The states a download ends in; the events of the same names are the last of its stream. */
export const ENDED_STATES: ReadonlySet<string> = new Set<DownloadState>(['completed', 'failed', 'cancelled']);
/** The states of a download that has not ended. */
export const UNFINISHED_STATES: ReadonlySet<string> = new Set(DownloadState.options.filter((state) => !ENDED_STATES.has(state)));

export const DownloadFailure = z.object({
  code: z.enum(Object.keys(ERROR_CODES) as [ErrorCode, ...ErrorCode[]]),
  message: z.string(),
  retryable: z.boolean(),
});
export type DownloadFailure = z.infer<typeof DownloadFailure>;

/**
 * Why a delayed download waits without spending an attempt: its host is at its fleet-wide
 * limit, cooling down after a 429/503 with Retry-After, or at its start rate; or its API key is at its limit.
 */
export const DownloadWaiting = z.object({
  reason: z.enum(['host-limit', 'host-cooldown', 'host-rate', 'key-limit']),
  /** The origin host it is limited by (the request URL's, port included unless 80 or 443). */
  host: z.string(),
  /** When it tries again; it may wait again then. */
  until: z.iso.datetime(),
});
export type DownloadWaiting = z.infer<typeof DownloadWaiting>;

/** What `GET /v1/downloads/:id` answers. */
export const DownloadStatus = z.object({
  id: z.string(),
  url: z.string(),
  state: DownloadState,
  batchId: z.string().nullable().default(null),
  progress: DownloadProgress,
  attempts: z.object({ made: z.number().int(), max: z.number().int() }),
  result: DownloadResult.nullable(),
  error: DownloadFailure.nullable(),
  /** Set while a delayed download waits for a fleet limit (null otherwise); `error` still names its last failure, if any. */
  waiting: DownloadWaiting.nullable().default(null),
  createdAt: z.iso.datetime(),
  finishedAt: z.iso.datetime().nullable(),
});
export type DownloadStatus = z.infer<typeof DownloadStatus>;
