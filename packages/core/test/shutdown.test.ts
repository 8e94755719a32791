import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import { createShutdown, type ShutdownStages } from '../src/lifecycle/shutdown.js';

/** A real pino logger writing into an array, so the test reads the lines a process would print. */
function logSink() {
  const lines: Array<{ level: number; msg: string; step?: string; err?: string }> = [];
  const logger = pino({ level: 'debug' }, { write: (line: string) => void lines.push(JSON.parse(line)) });
  return { logger, lines, messages: () => lines.map((line) => line.msg) };
}

/** A shutdown whose stop is recorded instead of exiting the test process. */
function shutdownWith(stages: Omit<ShutdownStages, 'logger' | 'onStopped' | 'deadlineMs'> & { deadlineMs?: number }) {
  const sink = logSink();
  const stopped: boolean[] = [];
  const shutdown = createShutdown({ deadlineMs: 10_000, ...stages, logger: sink.logger, onStopped: (clean) => void stopped.push(clean) });
  return { shutdown, stopped, ...sink };
}

const step = (name: string, ran: string[], run: () => unknown = () => undefined) => ({
  name,
  run: async () => {
    ran.push(name);
    await run();
  },
});
const fails = (message: string) => () => Promise.reject(new Error(message));
const never = () => new Promise<never>(() => undefined);

/** A drain that lasts until something (a force step) opens it. */
function gate() {
  let open = () => undefined as void;
  const closed = new Promise<void>((resolve) => (open = resolve));
  return { wait: () => closed, open: () => open() };
}

describe('when a graceful cleanup step throws', () => {
  it('still runs every later step, logs the failure with its step, and stops as not clean', async () => {
    const ran: string[] = [];
    const { shutdown, stopped, lines } = shutdownWith({
      graceful: [step('close workers', ran, fails('redis went away')), step('close queues', ran), step('quit redis', ran)],
      force: [],
    });

    await shutdown('SIGTERM');

    expect(ran).toEqual(['close workers', 'close queues', 'quit redis']);
    expect(lines).toContainEqual(expect.objectContaining({ level: 50, step: 'close workers', err: 'redis went away', msg: 'shutdown step failed' }));
    expect(stopped).toEqual([false]);
  });

  it('lets the other steps of its group finish, and runs the next group after them', async () => {
    const ran: string[] = [];
    const { shutdown, stopped } = shutdownWith({
      graceful: [
        [step('close download worker', ran, fails('boom')), step('close callback worker', ran, () => new Promise((r) => setTimeout(r, 20)))],
        step('close queues', ran),
      ],
      force: [],
    });

    await shutdown('SIGTERM');

    expect(ran).toEqual(['close download worker', 'close callback worker', 'close queues']);
    expect(stopped).toEqual([false]);
  });

  it('counts a step that throws synchronously like one that rejects', async () => {
    const ran: string[] = [];
    const { shutdown, stopped } = shutdownWith({
      graceful: [
        {
          name: 'stop timers',
          run: () => {
            throw new Error('not started');
          },
        },
        step('quit redis', ran),
      ],
      force: [],
    });

    await shutdown('SIGTERM');

    expect(ran).toEqual(['quit redis']);
    expect(stopped).toEqual([false]);
  });
});

describe('when every step succeeds', () => {
  it('runs them in order, logs the start and the end, and stops as clean', async () => {
    const ran: string[] = [];
    const { shutdown, stopped, messages } = shutdownWith({ graceful: [step('a', ran), step('b', ran)], force: [step('never', ran)] });

    await shutdown('SIGTERM');

    expect(ran).toEqual(['a', 'b']);
    expect(messages()).toEqual(['shutting down gracefully; signal again to force', 'shutdown complete']);
    expect(stopped).toEqual([true]);
  });
});

describe('when shutdown is asked for twice', () => {
  it('drains once: the second call forces and returns the same promise', async () => {
    const ran: string[] = [];
    const draining = gate();
    const { shutdown, stopped } = shutdownWith({
      graceful: [step('close workers', ran, draining.wait)],
      force: [step('cancel jobs', ran, draining.open)],
    });

    const first = shutdown('SIGTERM');
    const second = shutdown('SIGINT');
    expect(second).toBe(first);
    await first;

    expect(ran).toEqual(['close workers', 'cancel jobs']);
    expect(stopped).toEqual([true]);
  });
});

describe('when the deadline passes', () => {
  it('forces, runs every force step though one throws, and stops as not clean', async () => {
    const ran: string[] = [];
    const draining = gate();
    const { shutdown, stopped, lines } = shutdownWith({
      deadlineMs: 20,
      graceful: [step('close workers', ran, draining.wait)],
      force: [step('cancel downloads', ran, fails('already closed')), step('cancel callbacks', ran, draining.open)],
    });

    await shutdown('SIGTERM');

    expect(ran).toEqual(['close workers', 'cancel downloads', 'cancel callbacks']);
    expect(lines).toContainEqual(expect.objectContaining({ why: 'shutdown deadline reached', msg: 'forcing shutdown: interrupting active work' }));
    expect(lines).toContainEqual(expect.objectContaining({ step: 'cancel downloads', err: 'already closed' }));
    expect(stopped).toEqual([false]);
  });

  it('is not waited for by a drain that finishes in time', async () => {
    const ran: string[] = [];
    const { shutdown, stopped } = shutdownWith({ deadlineMs: 20, graceful: [step('close', ran)], force: [step('force', ran, never)] });

    await shutdown('SIGTERM');
    await new Promise((resolve) => setTimeout(resolve, 40));

    expect(ran).toEqual(['close']);
    expect(stopped).toEqual([true]);
  });
});
