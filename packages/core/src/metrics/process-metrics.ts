import type { RedisClient } from '../redis/connections.js';
import type { Registry } from 'prom-client';
import { CallbackMetrics } from './callback-metrics.js';
import { DownloadMetrics } from './download-metrics.js';
import type { LimitsObserver } from '../limits/limits-observer.js';
import { createLimiterMetrics } from './limiter-metrics.js';
import { registerQueueDepth, type DepthQueues } from './queue-depth.js';
import { observeRedisCommands } from './redis-latency.js';
import { createRegistry } from './registry.js';

/** A worker's metrics: what it runs, its callbacks, its limiter waits, its Redis commands and its process. */
export interface WorkerMetrics {
  readonly registry: Registry;
  readonly downloads: DownloadMetrics;
  readonly callbacks: CallbackMetrics;
  /** For the fleet-wide limiter to report through. */
  readonly limiter: LimitsObserver;
  /** Stops observing Redis commands. */
  close(): void;
}

export function createWorkerMetrics(slots: number): WorkerMetrics {
  const registry = createRegistry();
  const close = observeRedisCommands(registry);
  return {
    registry,
    downloads: new DownloadMetrics(registry, slots),
    callbacks: new CallbackMetrics(registry),
    limiter: createLimiterMetrics(registry),
    close,
  };
}

/** The API's metrics: the queues' depth (read at scrape time), its Redis commands and its process. */
export interface ApiMetrics {
  readonly registry: Registry;
  close(): void;
}

export function createApiMetrics(redis: RedisClient, queues: DepthQueues): ApiMetrics {
  const registry = createRegistry();
  registerQueueDepth(registry, redis, queues);
  return { registry, close: observeRedisCommands(registry) };
}
