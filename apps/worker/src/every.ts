import type { Logger } from '@ferry/core';

/**
 * Runs `task` now (unless `immediately` is false) and then every `intervalMs`,
 * logging a failure rather than stopping. The timer does not keep the process alive.
 */
export function every(intervalMs: number, what: string, logger: Logger, task: () => Promise<unknown>, immediately = true): { stop: () => void } {
  const run = () => void task().catch((err: unknown) => logger.warn({ err: (err as Error).message }, `${what} failed`));
  if (immediately) run();
  const timer = setInterval(run, intervalMs);
  timer.unref();
  return { stop: () => clearInterval(timer) };
}
