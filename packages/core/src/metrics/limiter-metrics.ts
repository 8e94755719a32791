import { Counter, Histogram, type Registry } from 'prom-client';
import type { LimitKind, LimitsObserver } from '../limits/limits-observer.js';
import { COOLDOWN_SECONDS_BUCKETS } from './buckets.js';

/** The statuses a cooldown is labelled with; any other is `other`, so the label stays bounded. */
const COOLDOWN_STATUSES = new Set([429, 503]);

/**
 * The fleet limits' observer, counting. Hosts and API keys are no labels: a host is
 * whatever callers send (unbounded), and one series per key would multiply with
 * every tenant; the limiter's own status answers say which host or key it was.
 */
export function createLimiterMetrics(registry: Registry): LimitsObserver {
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
    waited: (limit) => waits.inc({ limit }),
    cooledDown: (status, seconds) => cooldowns.observe({ status: COOLDOWN_STATUSES.has(status) ? String(status) : 'other' }, Math.max(0, seconds)),
  };
}
