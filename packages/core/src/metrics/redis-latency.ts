import diagnostics from 'node:diagnostics_channel';
import { Histogram, type Registry } from 'prom-client';
import { REDIS_SECONDS_BUCKETS } from './buckets.js';

/** What ioredis publishes on its `ioredis:command` tracing channel (its README, "diagnostics_channel"); only the name is read. */
interface CommandContext {
  readonly command?: unknown;
}

/**
 * Commands that wait on purpose (BullMQ's workers block for new jobs, QueueEvents
 * reads its stream with BLOCK): their time is idleness, not latency, so it would
 * drown the figure this histogram is for.
 */
const WAITING_COMMANDS = /^(blpop|brpop|brpoplpush|blmove|blmpop|bzpopmin|bzpopmax|bzmpop|xread|xreadgroup|subscribe|psubscribe|ssubscribe)$/;

/**
 * Measures every Redis command this process sends through ioredis, from the moment it
 * is written to the socket to its reply (the round trip plus Redis's own time; time a
 * command spent queued offline while Redis was unreachable is not in it). It uses the
 * tracing channel ioredis publishes for observers, so no ioredis method is patched;
 * the label is the command's name (`evalsha` for BullMQ's scripts), a bounded set.
 * Returns the unsubscribe.
 */
export function observeRedisCommands(registry: Registry): () => void {
  const histogram = new Histogram({
    name: 'ferry_redis_command_duration_seconds',
    help: 'Time from writing a Redis command to its reply, by command (blocking reads excluded).',
    labelNames: ['command'],
    buckets: [...REDIS_SECONDS_BUCKETS],
    registers: [registry],
  });
  const startedAt = new WeakMap<object, number>();
  const channel = diagnostics.tracingChannel<unknown, CommandContext & object>('ioredis:command');
  const ignore = () => undefined;
  const handlers = {
    end: ignore,
    asyncStart: ignore,
    error: ignore,
    start: (context: CommandContext & object) => {
      const name = typeof context.command === 'string' ? context.command.toLowerCase() : '';
      if (name !== '' && !WAITING_COMMANDS.test(name)) startedAt.set(context, performance.now());
    },
    asyncEnd: (context: CommandContext & object) => {
      const started = startedAt.get(context);
      if (started === undefined) return;
      startedAt.delete(context);
      histogram.observe({ command: String(context.command).toLowerCase() }, (performance.now() - started) / 1000);
    },
  };
  channel.subscribe(handlers);
  return () => channel.unsubscribe(handlers);
}
