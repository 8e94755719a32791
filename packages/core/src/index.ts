// The HTTP contract (all of api-schemas.ts among it), also importable alone as @ferry/core/contract; the lists below add what is not in it.
export * from './contract.js';
export { apiKeyEntry, findApiKey, generateApiKey, hashApiKey, isKeyName, type ApiKey } from './api-keys.js';
export { CONFIG_VARIABLES, EnvSchema, loadConfig, type Config, type Env } from './config.js';
export { HttpAgents } from './download/http-client.js';
export { resolveTimeouts, timeoutCapIssues, type Timeouts } from './download/timeouts.js';
export { downloadToStorage, PROGRESS_INTERVAL_MS, type DownloadContext } from './download/engine.js';
export { FerryError, isRetryable } from './errors.js';
export { decodeFailureReason, encodeFailureReason, isCancellation } from './failure.js';
export { shownState } from './download-status.js';
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
export { loadDownloadStatus, readControl, type ControlAction, type LoadedDownload } from './load-download-status.js';
export { isId, newId } from './ids.js';
export { CLAIM_GRACE_MS, IdempotencyStore, requestFingerprints, type IdempotencyClaim, type IdempotencyRecord } from './idempotency.js';
export { createLogger, loggerOptions, REDACTED_PATHS, type Logger } from './logger.js';
export { REDACTED, redactUrlsIn } from './redact-url.js';
export { createDownloadQueue, DOWNLOAD_JOB, DOWNLOAD_QUEUE, downloadBackoffStrategy } from './queues.js';
export { createProducerRedis, createWorkerRedis, isRedisUnavailableError } from './redis/connections.js';
export { checkEvictionPolicy } from './redis/eviction-policy.js';
export { ferryKey } from './redis/keys.js';
export {
  findRedisServer,
  freePort,
  REDIS_INSTALL_HINT,
  startRedisServer,
  type RedisServer,
  type RedisServerOptions,
} from './redis/redis-server.js';
export { Checkpoint, DownloadJob, IDEMPOTENCY_KEY, MAX_HEADER_COUNT, MAX_HEADERS_BYTES, MAX_URL_LENGTH, StoredDownload, WorkerProgress } from './schemas.js';
export { isAlive } from './lifecycle/is-alive.js';
export { runService } from './lifecycle/run-service.js';
export { installShutdown, type ShutdownStages } from './lifecycle/shutdown.js';
export { LocalDiskStorage, PARTS_DIRNAME } from './storage/local-disk.js';
export type { ConflictPolicy, OpenedStoredFile, PartWriter, PublishTarget, Storage, StoredFile, StoredFileRef, StoredPart, StoredReader } from './storage/storage.js';
export { EgressPolicy, type EgressPolicyOptions } from './egress/address-policy.js';
export { checkUrl } from './egress/check-url.js';
export type { Resolver } from './egress/guarded-lookup.js';
export { CALLBACK_JOB, CALLBACK_QUEUE, CallbackEvent, CallbackJob, createCallbackQueue, type DownloadCallbackType } from './webhooks/callbacks.js';
export { BatchStore, createBatchStore, type BatchRecord, type BatchStoreOptions, type NewBatch } from './batches/batch-store.js';
export { generateWebhookSecret } from './webhooks/secrets.js';
export { generateSealingKey, HeaderSealer, type SealedFor, type SealingKey } from './secrets/header-sealer.js';
export { verifyWebhook, webhookHeaders, type VerifyOptions } from './webhooks/signature.js';
export { clientNetwork } from './client-network.js';
export { attachmentDisposition } from './storage/content-disposition.js';
