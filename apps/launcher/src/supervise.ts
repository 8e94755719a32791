import { fork, type ChildProcess } from 'node:child_process';
import type { Writable } from 'node:stream';

export interface Service {
  readonly name: string;
  readonly child: ChildProcess;
  /** Resolves with the service's ready message; rejects if it exits first. */
  readonly ready: Promise<Record<string, unknown>>;
  /** Resolves with the exit code once the process has exited. */
  readonly exited: Promise<number | null>;
}

export interface ServiceOptions {
  readonly nodeFlags?: readonly string[];
  /** A pipe the child holds open, unused, for as long as it runs (see RedisServer.lifeline). */
  readonly lifeline?: Writable | undefined;
}

/**
 * Runs a Ferry service as a child in its own process group, so a terminal's
 * Ctrl-C reaches only the launcher, which then stops the services in order.
 */
export function startService(name: string, modulePath: string, env: NodeJS.ProcessEnv, options: ServiceOptions = {}): Service {
  const child = fork(modulePath, [], {
    env,
    execArgv: [...process.execArgv, ...(options.nodeFlags ?? [])],
    detached: true,
    stdio: ['ignore', 'inherit', 'inherit', 'ipc', ...(options.lifeline === undefined ? [] : [options.lifeline])],
  });
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code, signal) => resolve(code ?? (signal ? 128 : null))));
  const ready = new Promise<Record<string, unknown>>((resolve, reject) => {
    child.on('message', (message) => {
      if (typeof message === 'object' && message !== null && (message as { type?: unknown }).type === 'ready') {
        resolve(message as Record<string, unknown>);
      }
    });
    void exited.then((code) => reject(new Error(`${name} exited with code ${code} before it was ready (its log is above)`)));
  });
  ready.catch(() => undefined);
  return { name, child, ready, exited };
}
