/** @ferry/core: the queue side that the API and the workers share: config, queues, Redis, job shapes and status, control, batches, callbacks, the end-of-download outbox, idempotency and the index. */
export { apiKeyEntry, findApiKey, generateApiKey, hashApiKey, isKeyName, type ApiKey } from './api-keys.js';
export { CONFIG_VARIABLES, EnvSchema, loadConfig, type Config, type S3Settings } from './config.js';
export { decodeFailureReason, encodeFailureReason, isCancellation } from './failure.js';
export { shownState, WAIT_FIELD } from './download-status.js';
export { DownloadOutbox, hasEndToReport, outboxKey, type MovedState } from './download-outbox.js';
export { DownloadIndex } from './download-index.js';
export { cancelledError, controlChannel, ControlMessage, DownloadControl, PAUSED_FOR_MS, type ControlOutcome } from './download-control.js';
export { asControlAction, CONTROL_FIELD, readControl, type ControlAction } from './control-field.js';
export { loadDownloadStatus, type LoadedDownload } from './load-download-status.js';
export { isId, newId } from './ids.js';
export { CLAIM_GRACE_MS, IdempotencyStore, requestFingerprints, type IdempotencyClaim } from './idempotency.js';
export { createLogger, loggerOptions, type Logger } from './logger.js';
export { REDACTED, redactUrlsIn } from './redact-url.js';
export { createDownloadQueue, DOWNLOAD_JOB, DOWNLOAD_QUEUE, downloadBackoffStrategy } from './queues.js';
export { createProducerRedis, createWorkerRedis, isRedisUnavailableError, type RedisClient } from './redis/connections.js';
export type { RedisSettings, RedisTopology } from './redis/redis-settings.js';
export { scanKeys } from './redis/scan-keys.js';
export { checkEvictionPolicy } from './redis/eviction-policy.js';
export { checkRedisAccess } from './redis/access-check.js';
export { confirmReplicated, type ReplicaWait } from './redis/wait-replicas.js';
export { ferryKey } from './redis/keys.js';
export { DownloadJob } from './download-job.js';
export { runService } from './lifecycle/run-service.js';
export { installShutdown } from './lifecycle/shutdown.js';
export { CALLBACK_JOB, CALLBACK_QUEUE, CallbackJob, createCallbackQueue } from './webhooks/callbacks.js';
export { BatchStore, createBatchStore, type BatchRecord } from './batches/batch-store.js';
export { generateWebhookSecret, keyWebhookSecret, parseWebhookSecrets } from './webhooks/secrets.js';
export { generateSealingKey, HeaderSealer } from './secrets/header-sealer.js';
export { verifyWebhook, WEBHOOK_KEY_HEADER, webhookHeaders } from './webhooks/signature.js';
export { createQueueServices, type QueueServices } from './queue-services.js';
export {
  FleetLimits,
  type AcquireOutcome,
  type Admission,
  type DownloadEnd,
  type LimitsPolicy,
  type Released,
  type WaitReason,
} from './limits/fleet-limits.js';
export { limitHost } from './limits/limit-host.js';
export { NO_LIMITS_OBSERVER, type LimitKind, type LimitsObserver } from './limits/limits-observer.js';
export { CallbackMetrics, type CallbackOutcome } from './metrics/callback-metrics.js';
export { DownloadMetrics } from './metrics/download-metrics.js';
export { listenForMetrics, type MetricsListener, type MetricsListenerOptions } from './metrics/metrics-listener.js';
export { METRICS_UNAUTHORIZED_MESSAGE, metricsAuthorized } from './metrics/metrics-token.js';
export { createApiMetrics, createWorkerMetrics, type ApiMetrics, type WorkerMetrics } from './metrics/process-metrics.js';
export { createStorage } from './storage/create-storage.js';
export { checkStorage } from './storage/check-storage.js';
