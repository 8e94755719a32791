import type { Context } from '../context.js';
import { formatBytes } from '../format.js';
import { EXIT, UsageError } from '../usage.js';

/** `ferry status <id>`: exits 0 whenever Ferry knows the download, whatever its state. */
export async function status(ctx: Context, id: string | undefined): Promise<number> {
  if (id === undefined) throw new UsageError('status needs a download id: ferry status <id>');
  const s = await ctx.client.get(id, { signal: ctx.signal });
  const { receivedBytes, totalBytes } = s.progress;
  const progress = totalBytes ? `${formatBytes(receivedBytes)} / ${formatBytes(totalBytes)} (${Math.floor((receivedBytes / totalBytes) * 100)}%)` : formatBytes(receivedBytes);
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
  return EXIT.ok;
}
