/**
 * The HTTP contract alone: the request and response schemas and the error codes,
 * without Redis, BullMQ, undici or the engine. `@ferry/client` imports only this
 * (as `@ferry/core/contract`), so a service that calls Ferry does not load Ferry's server side.
 * Keep this file's imports to schemas.ts, api-schemas.ts and errors.ts (test/contract.test.ts checks what they load).
 */
export * from './api-schemas.js';
export { ERROR_CODES, isErrorCode, type ErrorCode } from './errors.js';
export {
  DIGEST_ALGORITHMS,
  DownloadFailure,
  DownloadProgress,
  DownloadRequest,
  DownloadResult,
  DownloadState,
  DownloadStatus,
  ENDED_STATES,
  UNFINISHED_STATES,
  type DigestAlgorithm,
} from './schemas.js';
