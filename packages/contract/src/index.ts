/**
 * @ferry/contract: what Ferry's HTTP API takes and answers, and its error codes.
 * zod alone: the client, the API, the workers and a page in a browser import it,
 * so nothing here may load a node: module or anything a browser lacks
 * (test/contract.test.ts checks what it loads).
 */
export * from './api-schemas.js';
export { ERROR_CODES, FerryError, ferryErrorOf, isErrorCode, isRetryable, type ErrorCode, type FerryErrorOptions } from './errors.js';
export { filenameFromUrl, MAX_FILENAME_BYTES, numberedFilename, sanitizeFilename, truncateUtf8, unsafeFilenameReason } from './filename.js';
export {
  DIGEST_ALGORITHMS,
  DownloadFailure,
  DownloadProgress,
  DownloadRequest,
  DownloadResult,
  DownloadState,
  DownloadStatus,
  DownloadWaiting,
  ENDED_STATES,
  IDEMPOTENCY_KEY,
  MAX_HEADER_COUNT,
  MAX_HEADERS_BYTES,
  MAX_SEGMENTS,
  MAX_URL_LENGTH,
  UNFINISHED_STATES,
  type DigestAlgorithm,
} from './schemas.js';
