import { describe, expect, it } from 'vitest';
import { createWorkerMetrics } from '../src/metrics/process-metrics.js';

describe('the limiter metrics a worker exports', () => {
  it('count waits by limit and cooldowns by status, with every other status as other', async () => {
    const metrics = createWorkerMetrics(1);
    try {
      metrics.limiter.waited('host');
      metrics.limiter.waited('host');
      metrics.limiter.waited('key');
      metrics.limiter.cooledDown(429, 5);
      metrics.limiter.cooledDown(503, 30);
      metrics.limiter.cooledDown(418, 2);
      const text = await metrics.registry.metrics();
      expect(text).toContain('ferry_limiter_waits_total{limit="host"} 2');
      expect(text).toContain('ferry_limiter_waits_total{limit="key"} 1');
      expect(text).toContain('ferry_limiter_cooldown_seconds_count{status="429"} 1');
      expect(text).toContain('ferry_limiter_cooldown_seconds_sum{status="503"} 30');
      expect(text).toContain('ferry_limiter_cooldown_seconds_count{status="other"} 1');
      expect(text).not.toContain('status="418"');
    } finally {
      metrics.close();
    }
  });

  it('show both limits at zero before any wait, so rate() sees the first', async () => {
    const metrics = createWorkerMetrics(1);
    try {
      const text = await metrics.registry.metrics();
      expect(text).toContain('ferry_limiter_waits_total{limit="host"} 0');
      expect(text).toContain('ferry_limiter_waits_total{limit="key"} 0');
    } finally {
      metrics.close();
    }
  });
});
