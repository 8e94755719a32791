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

export function asClientError(err: unknown): FerryClientError {
  if (err instanceof FerryClientError) return err;
  return new FerryClientError('FERRY_CLIENT_ERR_BAD_RESPONSE', err instanceof Error ? err.message : String(err), { cause: err });
}

export function describeFailure({ url, id, error }: Failure): string {
  const issues = error.issues.map((issue) => `\n      ${issue.path} ${issue.message}`).join('');
  return `  ✗ ${url}${id === undefined ? '' : ` (${id})`}: ${error.code}: ${error.message}${issues}`;
}

/**
 * Waits for every download with a progress bar each, then prints "N succeeded, M failed"
 * and each failure's code and message; `refused` (never enqueued) count as failed.
 */
export async function watchDownloads(ctx: Context, downloads: readonly Download[], refused: readonly Failure[] = []): Promise<number> {
  const board = new ProgressBoard(ctx.out, downloads, ctx.env);
  const failures: Failure[] = [...refused];
  await Promise.all(
    downloads.map(async ({ id, url }) => {
      try {
        board.completed(id, await ctx.client.wait(id, { signal: ctx.signal, onProgress: (progress) => board.progress(id, progress) }));
      } catch (err) {
        const error = asClientError(err);
        if (error.code === 'FERRY_CLIENT_ERR_ABORTED') return;
        board.failed(id, error);
        failures.push({ url, id, error });
      }
    }),
  );
  board.stop();
  if (ctx.signal.aborted) {
    ctx.err.write(`Stopped waiting; the downloads go on in Ferry (ferry status <id> shows one).\n`);
    return EXIT.interrupted;
  }
  const succeeded = downloads.length + refused.length - failures.length;
  ctx.out.write(`\n${succeeded} succeeded, ${failures.length} failed\n`);
  for (const failure of failures) ctx.out.write(`${describeFailure(failure)}\n`);
  return failures.length === 0 ? EXIT.ok : EXIT.failed;
}
