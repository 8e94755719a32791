import type { Redis } from 'ioredis';
import { ferryKey, type DownloadIndex, type Logger } from '@ferry/core';
import { every } from './every.js';

export interface IndexPrunerDeps {
  readonly index: DownloadIndex;
  readonly jobKey: (id: string) => string;
  readonly redis: Redis;
  readonly prefix: string;
  readonly intervalMs: number;
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
