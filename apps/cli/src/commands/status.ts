import type { DownloadState } from '@ferry/client';
import type { Context } from '../context.js';
import { formatBytes } from '@ferry/client';
import { EXIT, UsageError } from '../usage.js';

/** What `ferry status` exits with for each state: as `--wait` would for an ended download, and a code of its own for one that has not ended. */
const EXIT_OF_STATE: Readonly<Record<DownloadState, number>> = {
  completed: EXIT.ok,
  failed: EXIT.failed,
  cancelled: EXIT.failed,
  queued: EXIT.notEnded,
  active: EXIT.notEnded,
  delayed: EXIT.notEnded,
  paused: EXIT.notEnded,
};

/** `ferry status <id>`: shows the download whatever its state; the exit status tells a script how it ended, or that it has not. */
export async function status(ctx: Context, id: string | undefined): Promise<number> {
  if (id === undefined) throw new UsageError('status needs a download id: ferry status <id>');
  const s = await ctx.client.get(id, { signal: ctx.signal });
  const { receivedBytes, totalBytes } = s.progress;
  const progress = totalBytes
    ? `${formatBytes(receivedBytes)} / ${formatBytes(totalBytes)} (${Math.floor((receivedBytes / totalBytes) * 100)}%)`
    : formatBytes(receivedBytes);
  const fields: Array<[string, string | null | undefined]> = [
    ['id', s.id],
    ['url', s.url],
    ['state', s.state],
    ['batch', s.batchId],
    ['progress', progress],
    ['attempts', `${s.attempts.made} of ${s.attempts.max}`],
    ['file', s.result && `${s.result.filename} (${formatBytes(s.result.bytes)})`],
    ['location', s.result?.location],
    ['sha256', s.result?.sha256],
    ['error', s.error && `${s.error.code}: ${s.error.message}`],
    ['created', s.createdAt],
    ['finished', s.finishedAt],
  ];
  for (const [name, value] of fields) if (value !== null && value !== undefined) ctx.out.write(`${`${name}:`.padEnd(10)} ${value}\n`);
  return EXIT_OF_STATE[s.state];
}
