import type { Logger } from '../logger.js';

interface ShutdownStages {
  /** Stop taking work and let what is running finish. */
  readonly graceful: () => Promise<void>;
  /** Interrupt what is still running and release resources. */
  readonly force: () => Promise<void>;
  /** How long `graceful` may take before `force` runs anyway. */
  readonly deadlineMs: number;
  readonly logger: Logger;
  /** Called once everything has stopped; exits the process by default. */
  readonly onStopped?: () => void;
}

// SIGPIPE is left out on purpose: Node ignores it already, and a closed stdout must not stop a worker mid-download.
const SIGNALS = ['SIGTERM', 'SIGINT'] as const;

/**
 * Two-stage shutdown: the first signal drains gracefully, a second signal or the
 * deadline forces, then the process exits. Calling the returned function again
 * (or signalling again) forces; it never starts a second graceful drain.
 */
export function installShutdown(stages: ShutdownStages): (reason: string) => Promise<void> {
  const { logger } = stages;
  let done: Promise<void> | undefined;
  let forcing: Promise<void> | undefined;

  const force = (why: string): Promise<void> => {
    forcing ??= (async () => {
      logger.warn({ why }, 'forcing shutdown: interrupting active work');
      await stages.force();
    })();
    return forcing;
  };

  const shutdown = (reason: string): Promise<void> => {
    if (done !== undefined) {
      void force(`${reason} received again`);
      return done;
    }
    logger.info({ reason, deadlineMs: stages.deadlineMs }, 'shutting down gracefully; signal again to force');
    const deadline = setTimeout(() => void force('shutdown deadline reached'), stages.deadlineMs);
    deadline.unref();
    done = (async () => {
      try {
        await stages.graceful();
      } finally {
        clearTimeout(deadline);
        await forcing;
      }
      logger.info('shutdown complete');
      (stages.onStopped ?? (() => process.exit(0)))();
    })();
    return done;
  };

  for (const signal of SIGNALS) process.on(signal, () => void shutdown(signal));
  // Started by a supervisor (npm start) over IPC: when it goes away, so do we.
  if (process.send !== undefined) process.on('disconnect', () => void shutdown('supervisor disconnected'));
  return shutdown;
}
