import { collectDefaultMetrics, Registry } from 'prom-client';

/**
 * A registry of one process's metrics, with Node's own (CPU, memory, event-loop lag,
 * GC: prom-client's default metrics, under their usual unprefixed names). Each
 * process builds its own instead of using prom-client's global one, so an API built
 * twice in one process (as the tests do) does not register a metric twice.
 */
export function createRegistry(): Registry {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });
  return registry;
}
