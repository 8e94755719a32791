import { Counter, Histogram, type Registry } from 'prom-client';
import { COOLDOWN_SECONDS_BUCKETS } from './buckets.js';

/** Which fleet-wide limit made a download wait. */
export type LimitKind = 'host' | 'key';

/**
 * What a fleet-wide limiter reports. Hosts and API keys are no labels: a host is
 * whatever callers send (unbounded), and one series per key would multiply with
 * every tenant; the limiter's own status answers say which host or key it was.
 */
export interface LimiterMetrics {
  /** A download found a limit full and was put back to wait, holding no worker slot and spending no attempt. */
  recordLimiterWait(limit: LimitKind): void;
  /** An origin's answer (`status`, e.g. 429 or 503) closed its host to every worker for `seconds`. */
  recordCooldown(status: number, seconds: number): void;
}

/** The statuses a cooldown is labelled with; any other is `other`, so the label stays bounded. */
const COOLDOWN_STATUSES = new Set([429, 503]);

export function createLimiterMetrics(registry: Registry): LimiterMetrics {
  const waits = new Counter({
    name: 'ferry_limiter_waits_total',
    help: 'Downloads put back to wait because a fleet-wide limit was full, by limit (host or key).',
    labelNames: ['limit'],
    registers: [registry],
  });
  for (const limit of ['host', 'key'] satisfies LimitKind[]) waits.inc({ limit }, 0);
  const cooldowns = new Histogram({
    name: 'ferry_limiter_cooldown_seconds',
    help: 'Cooldowns an origin imposed on its host (429 or 503, e.g. with Retry-After), by status, and how long each closed the host.',
    labelNames: ['status'],
    buckets: [...COOLDOWN_SECONDS_BUCKETS],
    registers: [registry],
  });
  return {
    recordLimiterWait: (limit) => waits.inc({ limit }),
    recordCooldown: (status, seconds) => cooldowns.observe({ status: COOLDOWN_STATUSES.has(status) ? String(status) : 'other' }, Math.max(0, seconds)),
  };
}
