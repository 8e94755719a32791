import type { FerryClient } from '@ferry/client';
import type { Terminal } from './progress-board.js';

/** What every command runs with. */
export interface Context {
  readonly client: FerryClient;
  readonly out: Terminal;
  readonly err: Terminal;
  readonly env: NodeJS.ProcessEnv;
  readonly cwd: string;
  /** Fires on Ctrl-C: stop waiting, leave the downloads running. */
  readonly signal: AbortSignal;
}
