import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { FerryClientError } from '@ferry/client';
import type { Context } from '../context.js';
import { followBatch } from '../follow.js';
import { EXIT, UsageError } from '../usage.js';
import { watchDownloads } from '../watch.js';

/** The URLs of a batch file with their line numbers: one a line, blank lines and `#` comments skipped. */
function readUrls(text: string): Array<{ url: string; line: number }> {
  return text
    .split(/\r?\n/)
    .map((raw, index) => ({ url: raw.trim(), line: index + 1 }))
    .filter(({ url }) => url !== '' && !url.startsWith('#'));
}

/** `ferry batch <file> [--wait]`: all the file's URLs as one batch, enqueued together or (any invalid) not at all. */
export async function batch(ctx: Context, file: string | undefined, wait: boolean): Promise<number> {
  if (file === undefined) throw new UsageError('batch needs a file of URLs: ferry batch <file> [--wait]');
  const text = await readFile(path.resolve(ctx.cwd, file), 'utf8').catch((err: NodeJS.ErrnoException) => {
    throw new UsageError(`cannot read ${file}: ${err.code === 'ENOENT' ? 'no such file' : err.message}`);
  });
  const entries = readUrls(text);
  if (entries.length === 0) throw new UsageError(`${file} holds no URLs (one a line; blank lines and # comments are skipped)`);
  let accepted;
  try {
    accepted = await ctx.client.enqueueBatch({ downloads: entries.map(({ url }) => ({ url })) }, { signal: ctx.signal });
  } catch (err) {
    if (!(err instanceof FerryClientError) || err.code !== 'FERRY_ERR_VALIDATION') throw err;
    // Ferry names the failing members downloads.<index>…; the file's line numbers are what the user can fix.
    ctx.err.write(`Ferry enqueued nothing: ${file} has URLs it refuses (${err.code})\n`);
    for (const issue of err.issues) {
      const member = /^downloads\.(\d+)(?:\.(.*))?$/.exec(issue.path);
      const entry = member === null ? undefined : entries[Number(member[1])];
      ctx.err.write(
        entry === undefined ? `  ${issue.path} ${issue.message}\n` : `  ${file}:${entry.line}: ${entry.url}: ${member?.[2] ?? ''} ${issue.message}\n`,
      );
    }
    return EXIT.failed;
  }
  ctx.out.write(`batch ${accepted.id}: ${accepted.size} downloads\n`);
  const downloads = accepted.downloads.map((id, index) => ({ id, url: entries[index]?.url ?? '' }));
  if (wait) return watchDownloads(ctx, downloads, followBatch(ctx, accepted.id, downloads));
  for (const { id, url } of downloads) ctx.out.write(`${id}  ${url}\n`);
  return EXIT.ok;
}
