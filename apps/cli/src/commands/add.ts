import type { Context } from '../context.js';
import { followEach } from '../follow.js';
import { UsageError, EXIT } from '../usage.js';
import { onlyClientError, describeFailure, watchDownloads, type Download, type Failure } from '../watch.js';

/** Codes that concern one URL: the others (unreachable, unauthorized…) would repeat for every URL, so they stop the command. */
const PER_URL_CODES = new Set(['FERRY_ERR_VALIDATION', 'FERRY_ERR_BLOCKED_DESTINATION']);

/** `ferry add <url…> [--wait]`: one download per URL; a URL Ferry refuses is reported and the others go on. */
export async function add(ctx: Context, urls: readonly string[], wait: boolean): Promise<number> {
  if (urls.length === 0) throw new UsageError('add needs at least one URL: ferry add <url…> [--wait]');
  const accepted: Download[] = [];
  const refused: Failure[] = [];
  for (const url of urls) {
    try {
      const { id, state } = await ctx.client.enqueue({ url }, { signal: ctx.signal });
      accepted.push({ id, url });
      ctx.out.write(`${id}  ${state}  ${url}\n`);
    } catch (err) {
      const error = onlyClientError(err);
      if (!PER_URL_CODES.has(error.code)) throw error;
      refused.push({ url, error });
      ctx.err.write(`${describeFailure({ url, error })}\n`);
    }
  }
  if (wait) return watchDownloads(ctx, accepted, followEach(ctx, accepted), refused);
  return refused.length === 0 ? EXIT.ok : EXIT.failed;
}
