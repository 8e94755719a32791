import type { Logger } from '../logger.js';

/** One piece of a shutdown: closing a worker, a queue, a connection. */
export interface CleanupStep {
  /** Names the step in the log line if it fails. */
  readonly name: string;
  readonly run: () => unknown;
}

/** A step, or steps that run at the same time (two workers draining together). */
export type CleanupStage = CleanupStep | readonly CleanupStep[];

async function runStep(step: CleanupStep, logger: Logger): Promise<boolean> {
  try {
    await step.run();
    return true;
  } catch (err) {
    logger.error({ step: step.name, err: err instanceof Error ? err.message : String(err) }, 'shutdown step failed');
    return false;
  }
}

/**
 * Runs the stages in order, each step in its own try/catch: a step that fails is
 * logged and the rest still run, so one broken connection does not leave the others
 * open (BullMQ's Worker.close() does the same). Resolves true when every step succeeded.
 */
export async function runCleanup(stages: readonly CleanupStage[], logger: Logger): Promise<boolean> {
  let clean = true;
  for (const stage of stages) {
    const steps: readonly CleanupStep[] = Array.isArray(stage) ? stage : [stage as CleanupStep];
    const results = await Promise.all(steps.map((step) => runStep(step, logger)));
    clean &&= results.every(Boolean);
  }
  return clean;
}
