import type { Queue } from 'bullmq';
import type { RedisClient } from '../redis/connections.js';
import { Gauge, type Registry } from 'prom-client';

/** BullMQ's job states and the key each lives in: a list or a sorted set. */
const STATES = [
  { state: 'waiting', key: 'wait', kind: 'list' },
  { state: 'paused', key: 'paused', kind: 'list' },
  { state: 'active', key: 'active', kind: 'list' },
  { state: 'prioritized', key: 'prioritized', kind: 'zset' },
  { state: 'delayed', key: 'delayed', kind: 'zset' },
  { state: 'waiting-children', key: 'waiting-children', kind: 'zset' },
  { state: 'completed', key: 'completed', kind: 'zset' },
  { state: 'failed', key: 'failed', kind: 'zset' },
] as const;

/** The queues whose depth is shown, by the label each gets. */
export type DepthQueues = Readonly<Record<string, Queue>>;

/**
 * `ferry_queue_jobs{queue, state}`, read when Prometheus scrapes: one pipelined round
 * trip of LLEN/ZCARD for every state of every queue. Only the API registers it, so N
 * workers do not read the same figures N times; the workers' own gauges say what each
 * runs. Completed and failed are what retention keeps, not totals (the counters are).
 * When Redis does not answer, the gauge has no samples for that scrape rather than stale ones.
 */
export function registerQueueDepth(registry: Registry, redis: RedisClient, queues: DepthQueues): void {
  const entries = Object.entries(queues).flatMap(([label, queue]) => STATES.map((s) => ({ ...s, label, redisKey: queue.toKey(s.key) })));
  new Gauge({
    name: 'ferry_queue_jobs',
    help: 'Jobs in each queue (downloads, callbacks) by state, read from Redis at scrape time by the API.',
    labelNames: ['queue', 'state'],
    registers: [registry],
    async collect() {
      this.reset();
      const pipeline = redis.pipeline();
      for (const entry of entries) {
        if (entry.kind === 'list') pipeline.llen(entry.redisKey);
        else pipeline.zcard(entry.redisKey);
      }
      const replies = await pipeline.exec().catch(() => null);
      if (replies === null) return;
      for (const [index, entry] of entries.entries()) {
        const [err, count] = replies[index] ?? [];
        if (err === null && typeof count === 'number') this.set({ queue: entry.label, state: entry.state }, count);
      }
    },
  });
}
