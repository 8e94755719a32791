import type { ErrorCode } from '@ferry/contract';

/**
 * Codes the client gives failures that never got an answer from Ferry. They use
 * their own prefix so they cannot be mistaken for a code Ferry sent.
 */
export const CLIENT_ERROR_CODES = {
  /** No HTTP answer: connection refused, DNS failure, reset, or the response body broke off. */
  FERRY_CLIENT_ERR_UNREACHABLE: 'FERRY_CLIENT_ERR_UNREACHABLE',
  /** An answer that is not what the contract says: not JSON, an unknown error code, a body the schemas reject. */
  FERRY_CLIENT_ERR_BAD_RESPONSE: 'FERRY_CLIENT_ERR_BAD_RESPONSE',
  /** The caller's AbortSignal fired; `cause` is the signal's reason. */
  FERRY_CLIENT_ERR_ABORTED: 'FERRY_CLIENT_ERR_ABORTED',
} as const;
export type ClientErrorCode = keyof typeof CLIENT_ERROR_CODES;

export interface Issue {
  readonly path: string;
  readonly message: string;
}

export interface FerryClientErrorOptions {
  /** The HTTP status Ferry answered with; undefined when there was no answer, or when the code comes from a failed download. */
  readonly status?: number;
  readonly issues?: readonly Issue[];
  readonly cause?: unknown;
}

/**
 * Everything the client throws or rejects with. Match on `code`: Ferry's own
 * (`FERRY_ERR_…`, see docs/errors.md) when Ferry answered or a download failed,
 * or one of CLIENT_ERROR_CODES.
 */
export class FerryClientError extends Error {
  override readonly name = 'FerryClientError';
  readonly code: ErrorCode | ClientErrorCode;
  readonly status: number | undefined;
  /** Field by field, for FERRY_ERR_VALIDATION; empty otherwise. */
  readonly issues: readonly Issue[];

  constructor(code: ErrorCode | ClientErrorCode, message: string, options: FerryClientErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.code = code;
    this.status = options.status;
    this.issues = options.issues ?? [];
  }
}

/** What an operation rejects with once `signal` fired. */
export function abortedError(signal: AbortSignal): FerryClientError {
  return new FerryClientError('FERRY_CLIENT_ERR_ABORTED', 'the operation was aborted', { cause: signal.reason });
}
