import type { Logger } from '../logger.js';
import { runCleanup, type CleanupStage } from './cleanup-steps.js';

export interface ShutdownStages {
  /** Stop taking work and let what is running finish, then release resources. */
  readonly graceful: readonly CleanupStage[];
  /** Interrupt what is still running. Runs beside `graceful`, which it lets finish. */
  readonly force: readonly CleanupStage[];
  /** How long `graceful` may take before `force` runs anyway, in ms. */
  readonly deadlineMs: number;
  readonly logger: Logger;
  /**
   * Called once everything has stopped; `clean` is false if any step failed.
   * @defaultValue exits the process, with status 0 when clean and 1 otherwise
   */
  readonly onStopped?: (clean: boolean) => void;
}

// SIGPIPE is left out on purpose: Node ignores it already, and a closed stdout must not stop a worker mid-download.
const SIGNALS = ['SIGTERM', 'SIGINT'] as const;

const exitProcess = (clean: boolean): void => process.exit(clean ? 0 : 1);

/**
 * Two-stage shutdown: the first call drains gracefully, a second call or the
 * deadline forces, then `onStopped` runs. The drain's promise is kept: a second
 * call forces and returns it; it never starts a second drain.
 */
export function createShutdown(stages: ShutdownStages): (reason: string) => Promise<void> {
  const { logger } = stages;
  let done: Promise<void> | undefined;
  let forcing: Promise<boolean> | undefined;

  const force = (why: string): Promise<boolean> => {
    forcing ??= (async () => {
      logger.warn({ why }, 'forcing shutdown: interrupting active work');
      return runCleanup(stages.force, logger);
    })();
    return forcing;
  };

  return (reason: string): Promise<void> => {
    if (done !== undefined) {
      void force(`${reason} received again`);
      return done;
    }
    logger.info({ reason, deadlineMs: stages.deadlineMs }, 'shutting down gracefully; signal again to force');
    const deadline = setTimeout(() => void force('shutdown deadline reached'), stages.deadlineMs);
    deadline.unref();
    done = (async () => {
      const drained = await runCleanup(stages.graceful, logger);
      clearTimeout(deadline);
      const forced = (await forcing) ?? true;
      const clean = drained && forced;
      if (clean) logger.info('shutdown complete');
      else logger.error('shutdown complete, but some steps failed (logged above)');
      (stages.onStopped ?? exitProcess)(clean);
    })();
    return done;
  };
}

/** createShutdown, run by SIGTERM and SIGINT and by losing the supervisor that started this process. */
export function installShutdown(stages: ShutdownStages): (reason: string) => Promise<void> {
  const shutdown = createShutdown(stages);
  for (const signal of SIGNALS) process.on(signal, () => void shutdown(signal));
  // Started by a supervisor (npm start) over IPC: when it goes away, so do we.
  if (process.send !== undefined) process.on('disconnect', () => void shutdown('supervisor disconnected'));
  return shutdown;
}
