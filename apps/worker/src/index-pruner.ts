import { ferryKey, type DownloadIndex, type Logger, type RedisClient } from '@ferry/core';
import { every } from './every.js';

/** What the index pruner needs; every field is required (none has a default). */
export interface IndexPrunerDeps {
  /** The download index whose entries are pruned. */
  readonly index: DownloadIndex;
  /** The Redis key of a download's job, to see whether retention removed it (the downloads queue's toKey). */
  readonly jobKey: (id: string) => string;
  /** Where the workers claim the turn to prune. */
  readonly redis: RedisClient;
  /** The queue prefix (FERRY_QUEUE_PREFIX) the turn's key lives under. */
  readonly prefix: string;
  /** Time between prunings, in ms; also how long a claimed turn lasts. */
  readonly intervalMs: number;
  /** Where each pruning reports what it removed, or why it failed. */
  readonly logger: Logger;
}

/**
 * Every `intervalMs`, one worker (whichever claims the turn) removes list
 * entries of downloads that retention removed; the index is shared, so one is enough.
 */
export function startIndexPruner(deps: IndexPrunerDeps): { stop: () => void } {
  const prune = async () => {
    const turn = await deps.redis.set(ferryKey(deps.prefix, 'index-prune-turn'), String(process.pid), 'PX', deps.intervalMs, 'NX');
    if (turn !== 'OK') return;
    const removed = await deps.index.prune(deps.jobKey);
    if (removed > 0) deps.logger.info({ removed }, 'forgot list entries of downloads retention removed');
  };
  return every(deps.intervalMs, 'download index pruning', deps.logger, prune);
}
