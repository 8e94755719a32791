import type { Queue } from 'bullmq';
import type { RedisClient } from './redis/connections.js';
import type { Storage } from '@ferry/storage';
import { createBatchStore, type BatchStore } from './batches/batch-store.js';
import type { Config } from './config.js';
import { DownloadControl } from './download-control.js';
import { DownloadIndex } from './download-index.js';
import { DownloadOutbox } from './download-outbox.js';
import { HeaderSealer } from './secrets/header-sealer.js';
import { createStorage } from './storage/create-storage.js';
import { createCallbackQueue } from './webhooks/callbacks.js';

/** What the API and the workers both build from the config, wired in one place so the two cannot wire them differently. */
export interface QueueServices {
  /** The callbacks queue, which download ends feed. */
  readonly callbacks: Queue;
  readonly batches: BatchStore;
  /** The end-of-download outbox: callbacks and batch counts that must not be lost. */
  readonly outbox: DownloadOutbox;
  /** Pause and cancel requests. */
  readonly control: DownloadControl;
  /** Each API key's list of downloads. */
  readonly index: DownloadIndex;
  /** Encrypts request headers for Redis and opens them again. */
  readonly sealer: HeaderSealer;
  /** Where finished files are stored. */
  readonly storage: Storage;
}

/** The queue side's services on `redis` and the downloads queue; the caller closes `callbacks` with the rest. */
export async function createQueueServices(config: Config, redis: RedisClient, downloads: Queue): Promise<QueueServices> {
  const callbacks = createCallbackQueue(config, redis);
  const batches = createBatchStore(config, { redis, downloads, callbacks });
  return {
    callbacks,
    batches,
    outbox: new DownloadOutbox({ redis, downloads, callbacks, batches, prefix: config.queuePrefix }),
    control: new DownloadControl(downloads, redis, config.queuePrefix),
    index: new DownloadIndex(redis, config.queuePrefix),
    sealer: new HeaderSealer(config.headerKeys),
    storage: await createStorage(config),
  };
}
