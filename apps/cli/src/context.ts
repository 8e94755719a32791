import type { FerryClient } from '@ferry/client';
import type { Terminal } from './progress-board.js';

/** What `run` is given: the process's streams, environment and Ctrl-C. */
export interface Io {
  readonly out: Terminal;
  readonly err: Terminal;
  readonly env: NodeJS.ProcessEnv;
  readonly cwd: string;
  /** Fires on Ctrl-C: stop waiting, leave the downloads running. */
  readonly signal: AbortSignal;
}

/** What every command runs with. */
export interface Context extends Io {
  readonly client: FerryClient;
}
