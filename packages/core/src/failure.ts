import { ERROR_CODES, FerryError, isErrorCode, type ErrorCode } from '@ferry/contract';
import type { DownloadFailure } from '@ferry/contract';

const reasonPrefix = (code: ErrorCode): string => `${code}: `;

/**
 * BullMQ keeps only an error's message (`failedReason`). The code travels as its
 * prefix, `FERRY_ERR_…: message`, which also reads well in Bull Board.
 */
export function encodeFailureReason(err: FerryError): string {
  return `${reasonPrefix(err.code)}${err.message}`;
}

/** How the `failedReason` of a cancelled download starts, for Redis scripts that cannot decode it. */
export const CANCELLED_REASON_PREFIX = reasonPrefix('FERRY_ERR_CANCELLED');

// Failures BullMQ itself records, which never passed through a processor.
const BULLMQ_REASONS: ReadonlyArray<[RegExp, DownloadFailure['code'], string]> = [
  [/stalled more than allowable limit/i, 'FERRY_ERR_STALLED', 'the job was taken over from dead workers too many times'],
];

export function decodeFailureReason(reason: string): DownloadFailure {
  const match = /^(FERRY_ERR_[A-Z_]+): ([\s\S]*)$/.exec(reason);
  if (match?.[1] !== undefined && match[2] !== undefined && isErrorCode(match[1])) {
    return { code: match[1], message: match[2], retryable: ERROR_CODES[match[1]].retryable };
  }
  for (const [pattern, code, message] of BULLMQ_REASONS) {
    if (pattern.test(reason)) return { code, message: `${message} (${reason})`, retryable: ERROR_CODES[code].retryable };
  }
  return { code: 'FERRY_ERR_INTERNAL', message: reason, retryable: ERROR_CODES.FERRY_ERR_INTERNAL.retryable };
}

/** A cancelled download is a failed job whose failure is the cancel; it is shown as `cancelled`, not `failed`. */
export function isCancellation(failure: DownloadFailure | undefined): boolean {
  return failure?.code === 'FERRY_ERR_CANCELLED';
}
