import type { DownloadResult, DownloadState, ProgressEvent } from '@ferry/client';
import { FerryClientError } from '@ferry/client';
import type { Context } from './context.js';
import { ProgressBoard } from './progress-board.js';
import { EXIT } from './usage.js';

export interface Download {
  readonly id: string;
  readonly url: string;
}

/** A URL Ferry did not accept, or a download that did not complete. */
export interface Failure {
  readonly url: string;
  readonly id?: string;
  readonly error: FerryClientError;
}

/** Where a follower reports what happens to each download. */
export interface Report {
  /** The state it is in; an ended state comes again as completed or failed, with the result or error. */
  state(id: string, state: DownloadState): void;
  progress(id: string, progress: ProgressEvent): void;
  completed(id: string, result: DownloadResult): void;
  failed(id: string, error: FerryClientError): void;
}

/** Follows the downloads until every one has ended (or the signal fired), reporting as it goes. */
export type Follow = (report: Report) => Promise<void>;

/** The client's error, as every failure of the client is; anything else is a bug in the CLI, thrown on with its stack rather than blamed on Ferry. */
export function onlyClientError(err: unknown): FerryClientError {
  if (err instanceof FerryClientError) return err;
  throw err;
}

export function describeFailure({ url, id, error }: Failure): string {
  const issues = error.issues.map((issue) => `\n      ${issue.path} ${issue.message}`).join('');
  return `  ✗ ${url}${id === undefined ? '' : ` (${id})`}: ${error.code}: ${error.message}${issues}`;
}

/**
 * Shows a progress bar per download while `follow` runs, then prints "N succeeded, M failed"
 * and each failure's code and message; `refused` URLs (never enqueued) count as failed.
 */
export async function watchDownloads(ctx: Context, downloads: readonly Download[], follow: Follow, refused: readonly Failure[] = []): Promise<number> {
  const board = new ProgressBoard(ctx.out, downloads, ctx.env);
  const urls = new Map(downloads.map(({ id, url }) => [id, url]));
  const failures: Failure[] = [...refused];
  try {
    await follow({
      state: (id, state) => board.state(id, state),
      progress: (id, progress) => board.progress(id, progress),
      completed: (id, result) => board.completed(id, result),
      failed: (id, error) => {
        board.failed(id, error);
        failures.push({ url: urls.get(id) ?? id, id, error });
      },
    });
  } catch (err) {
    if (!ctx.signal.aborted) throw err;
  } finally {
    board.stop();
  }
  if (ctx.signal.aborted) {
    ctx.err.write(`Stopped waiting; the downloads go on in Ferry (ferry status <id> shows one).\n`);
    return EXIT.interrupted;
  }
  const succeeded = downloads.length + refused.length - failures.length;
  ctx.out.write(`\n${succeeded} succeeded, ${failures.length} failed\n`);
  for (const failure of failures) ctx.out.write(`${describeFailure(failure)}\n`);
  return failures.length === 0 ? EXIT.ok : EXIT.failed;
}
