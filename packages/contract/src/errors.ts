/**
 * Every failure Ferry reports carries one of these codes. Callers match on the
 * code, never on the message. A code is never reused for another meaning.
 *
 * `retryable` is the whole retry policy for a failed download attempt;
 * `httpStatus` is what the API answers when the error reaches a client.
 */
export const ERROR_CODES = {
  FERRY_ERR_VALIDATION: { retryable: false, httpStatus: 400 },
  FERRY_ERR_UNSUPPORTED_MEDIA_TYPE: { retryable: false, httpStatus: 415 },
  FERRY_ERR_PAYLOAD_TOO_LARGE: { retryable: false, httpStatus: 413 },
  FERRY_ERR_HEADERS_TOO_LARGE: { retryable: false, httpStatus: 431 },
  FERRY_ERR_REQUEST_TIMEOUT: { retryable: true, httpStatus: 408 },
  FERRY_ERR_NOT_FOUND: { retryable: false, httpStatus: 404 },
  FERRY_ERR_IDEMPOTENCY_CONFLICT: { retryable: false, httpStatus: 409 },
  FERRY_ERR_NOT_READY: { retryable: true, httpStatus: 409 },
  FERRY_ERR_NOT_RETRYABLE_STATE: { retryable: false, httpStatus: 409 },
  FERRY_ERR_WRONG_STATE: { retryable: false, httpStatus: 409 },
  FERRY_ERR_RANGE_NOT_SATISFIABLE: { retryable: false, httpStatus: 416 },
  FERRY_ERR_PRECONDITION_FAILED: { retryable: false, httpStatus: 412 },
  FERRY_ERR_UNAUTHORIZED: { retryable: false, httpStatus: 401 },
  FERRY_ERR_CROSS_SITE: { retryable: false, httpStatus: 403 },
  FERRY_ERR_READ_ONLY: { retryable: false, httpStatus: 403 },
  FERRY_ERR_DASHBOARD_REFUSED: { retryable: false, httpStatus: 403 },
  FERRY_ERR_RATE_LIMITED: { retryable: true, httpStatus: 429 },
  FERRY_ERR_REDIS_UNAVAILABLE: { retryable: true, httpStatus: 503 },
  FERRY_ERR_CONFIG: { retryable: false, httpStatus: 500 },
  FERRY_ERR_INTERNAL: { retryable: true, httpStatus: 500 },
  FERRY_ERR_INVALID_JOB: { retryable: false, httpStatus: 500 },
  FERRY_ERR_ORIGIN_REJECTED: { retryable: false, httpStatus: 502 },
  FERRY_ERR_ORIGIN_UNAVAILABLE: { retryable: true, httpStatus: 502 },
  FERRY_ERR_CONNECT: { retryable: true, httpStatus: 502 },
  FERRY_ERR_CONNECT_TIMEOUT: { retryable: true, httpStatus: 504 },
  FERRY_ERR_HEADERS_TIMEOUT: { retryable: true, httpStatus: 504 },
  FERRY_ERR_BODY_TIMEOUT: { retryable: true, httpStatus: 504 },
  FERRY_ERR_TOO_SLOW: { retryable: true, httpStatus: 504 },
  FERRY_ERR_TRUNCATED: { retryable: true, httpStatus: 502 },
  FERRY_ERR_TOO_MANY_REDIRECTS: { retryable: false, httpStatus: 502 },
  FERRY_ERR_BAD_REDIRECT: { retryable: false, httpStatus: 502 },
  FERRY_ERR_BLOCKED_DESTINATION: { retryable: false, httpStatus: 400 },
  FERRY_ERR_CHECKSUM_MISMATCH: { retryable: false, httpStatus: 502 },
  FERRY_ERR_TOO_LARGE: { retryable: false, httpStatus: 502 },
  FERRY_ERR_FILE_EXISTS: { retryable: false, httpStatus: 409 },
  FERRY_ERR_STORAGE: { retryable: true, httpStatus: 507 },
  FERRY_ERR_STORAGE_FULL: { retryable: true, httpStatus: 507 },
  FERRY_ERR_ABORTED: { retryable: true, httpStatus: 503 },
  FERRY_ERR_CANCELLED: { retryable: false, httpStatus: 409 },
  FERRY_ERR_PAUSED: { retryable: true, httpStatus: 409 },
  FERRY_ERR_LOCK_LOST: { retryable: true, httpStatus: 503 },
  FERRY_ERR_SEALED_HEADERS: { retryable: true, httpStatus: 500 },
  FERRY_ERR_CALLBACK_REJECTED: { retryable: true, httpStatus: 502 },
  FERRY_ERR_STALLED: { retryable: false, httpStatus: 500 },
} as const satisfies Record<string, { retryable: boolean; httpStatus: number }>;

export type ErrorCode = keyof typeof ERROR_CODES;

export function isErrorCode(value: string): value is ErrorCode {
  return Object.hasOwn(ERROR_CODES, value);
}

export interface FerryErrorOptions {
  cause?: unknown;
  data?: Record<string, unknown>;
}

export class FerryError extends Error {
  override readonly name = 'FerryError';
  readonly code: ErrorCode;
  readonly data: Readonly<Record<string, unknown>>;

  constructor(code: ErrorCode, message: string, options: FerryErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.code = code;
    this.data = Object.freeze({ ...options.data });
  }

  get retryable(): boolean {
    return ERROR_CODES[this.code].retryable;
  }

  get httpStatus(): number {
    return ERROR_CODES[this.code].httpStatus;
  }
}

/**
 * The one place that decides whether a failed attempt is worth another try.
 * Anything that is not a FerryError is a bug or an unforeseen fault: retrying it
 * costs little and often works, so it counts as retryable.
 */
export function isRetryable(err: unknown): boolean {
  return err instanceof FerryError ? err.retryable : true;
}

/**
 * The FerryError behind a failure: `err` itself, or its cause. A worker hands BullMQ a plain
 * Error (or UnrecoverableError) whose cause is the FerryError, and whatever reads the failure
 * afterwards (the backoff, the fleet limits) wants the coded one.
 */
export function ferryErrorOf(err: unknown): FerryError | undefined {
  if (err instanceof FerryError) return err;
  return err instanceof Error && err.cause instanceof FerryError ? err.cause : undefined;
}
