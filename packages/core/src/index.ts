// The HTTP contract (all of api-schemas.ts among it), also importable alone as @ferry/core/contract.
export * from './contract.js';
export { apiKeyEntry, findApiKey, generateApiKey, hashApiKey, isKeyName, parseApiKeys, type ApiKey } from './api-keys.js';
export { computeBackoffDelay, retryAfterOf, type BackoffPolicy } from './backoff.js';
export { CONFIG_VARIABLES, EnvSchema, loadConfig, type Config, type Env } from './config.js';
export { HttpAgents, MAX_REDIRECTS, USER_AGENT } from './download/http-client.js';
export { resolveTimeouts, timeoutCapIssues, type Timeouts } from './download/timeouts.js';
export { downloadToStorage, PROGRESS_INTERVAL_MS, type DownloadContext } from './download/engine.js';
export { isRetryableStatus } from './download/http-status.js';
export { parseRetryAfter } from './download/retry-after.js';
export { ERROR_CODES, FerryError, isErrorCode, isRetryable, type ErrorCode } from './errors.js';
export { decodeFailureReason, encodeFailureReason, isCancellation } from './failure.js';
export { toDownloadStatus } from './download-status.js';
export { DownloadEndings, endingsKey, type DownloadEndingsOptions } from './download-endings.js';
export { DownloadIndex } from './download-index.js';
export {
  cancelledError,
  controlChannel,
  ControlMessage,
  DownloadControl,
  PAUSED_FOR_MS,
  type ControlOutcome,
} from './download-control.js';
export { CONTROL_FIELD, loadDownloadStatus, readControl, type ControlAction, type LoadedDownload } from './load-download-status.js';
export { IdempotencyStore, requestFingerprint, type IdempotencyRecord } from './idempotency.js';
export { createLogger, REDACTED_PATHS, type Logger } from './logger.js';
export {
  backoffPolicy,
  createDownloadQueue,
  DOWNLOAD_JOB,
  DOWNLOAD_QUEUE,
  downloadBackoffStrategy,
  downloadJobOptions,
  FERRY_BACKOFF,
} from './queues.js';
export { createProducerRedis, createWorkerRedis, DEFAULT_REDIS_URL, isRedisUnavailableError } from './redis/connections.js';
export { checkEvictionPolicy } from './redis/eviction-policy.js';
export {
  findRedisServer,
  freePort,
  REDIS_INSTALL_HINT,
  startRedisServer,
  type RedisServer,
  type RedisServerOptions,
} from './redis/redis-server.js';
export {
  Checkpoint,
  DIGEST_ALGORITHMS,
  DownloadFailure,
  DownloadJob,
  DownloadProgress,
  DownloadRequest,
  DownloadResult,
  DownloadState,
  DownloadStatus,
  IDEMPOTENCY_KEY,
  MAX_HEADER_COUNT,
  MAX_HEADERS_BYTES,
  MAX_URL_LENGTH,
  WorkerProgress,
  type DigestAlgorithm,
} from './schemas.js';
export { filenameFromUrl, sanitizeFilename, unsafeFilenameReason } from './storage/filename.js';
export { runService } from './lifecycle/run-service.js';
export { installShutdown, type ShutdownStages } from './lifecycle/shutdown.js';
export { LocalDiskStorage, PARTS_DIRNAME } from './storage/local-disk.js';
export type { ConflictPolicy, PartWriter, Storage, StoredFile, StoredPart } from './storage/storage.js';
export { chooseFilename, type FilenameSources } from './storage/choose-filename.js';
export { dispositionFilenames, type DispositionFilenames } from './storage/content-disposition.js';
export { extensionForContentType } from './storage/content-type-extension.js';
export {
  classifyAddress,
  EgressPolicy,
  normalizeHostname,
  parseCidr,
  type AddressCategory,
  type AddressVerdict,
  type EgressPolicyOptions,
  type PortRule,
} from './egress/address-policy.js';
export { blockedDestination, type BlockReason } from './egress/blocked-destination.js';
export { checkEndpoint, checkUrl } from './egress/check-url.js';
export { checkRedirect } from './egress/check-redirect.js';
export { parseCidrList, parseHostList, parsePortList } from './egress/egress-config.js';
export { createGuardedAgent, type GuardedAgentOptions } from './egress/guarded-agent.js';
export { createGuardedLookup, resolveChecked, systemResolver, type ResolvedAddress, type Resolver } from './egress/guarded-lookup.js';
export {
  CALLBACK_JOB,
  CALLBACK_QUEUE,
  CallbackEvent,
  CallbackJob,
  callbackJobOptions,
  createCallbackQueue,
  type DownloadCallbackType,
} from './webhooks/callbacks.js';
export { queueDownloadCallback } from './webhooks/download-callback.js';
export { BatchStore, createBatchStore, type BatchRecord, type BatchStoreOptions, type NewBatch } from './batches/batch-store.js';
export { emptyCounts, summarizeMembers, UNFINISHED_STATES, type MemberRow, type MemberSummary } from './batches/batch-summary.js';
export { generateWebhookSecret, parseWebhookSecrets } from './webhooks/secrets.js';
export { verifyWebhook, webhookHeaders, type VerifyOptions } from './webhooks/signature.js';
