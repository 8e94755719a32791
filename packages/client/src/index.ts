export {
  FerryClient,
  type BatchRequestInput,
  type CallOptions,
  type DownloadRequestInput,
  type EnqueueOptions,
  type FerryClientOptions,
  type ListOptions,
} from './client.js';
export { CLIENT_ERROR_CODES, FerryClientError, type ClientErrorCode, type FerryClientErrorOptions, type Issue } from './client-error.js';
export { outcomeOf, type DownloadEnd } from './download-end.js';
export { formatBytes, formatDuration, shortName } from './format.js';
export { MAX_CONSECUTIVE_FAILURES } from './retry-budget.js';
export { SseParser, type SseMessage } from './sse.js';
export type { ProgressEvent, WaitOptions } from './wait.js';
export type {
  BatchAccepted,
  BatchProgressEvent,
  BatchStatus,
  DownloadAccepted,
  DownloadEvent,
  DownloadFailure,
  DownloadList,
  DownloadResult,
  DownloadState,
  DownloadStatus,
  ErrorCode,
} from '@ferry/contract';
