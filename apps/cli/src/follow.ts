import { FerryClientError, outcomeOf } from '@ferry/client';
import type { Context } from './context.js';
import { onlyClientError, type Download, type Follow, type Report } from './watch.js';

/** How many downloads a batch's stragglers are asked about at once. */
const CONCURRENT_WAITS = 8;

/** Waits for one download with the client; its failure is reported, not thrown. */
async function waitFor(ctx: Context, id: string, report: Report): Promise<void> {
  try {
    report.completed(id, await ctx.client.wait(id, { signal: ctx.signal, onProgress: (progress) => report.progress(id, progress) }));
  } catch (err) {
    const error = onlyClientError(err);
    if (error.code === 'FERRY_CLIENT_ERR_ABORTED') throw error;
    report.failed(id, error);
  }
}

/** One `wait` (one event stream) per download: for the few URLs of `ferry add`. */
export function followEach(ctx: Context, downloads: readonly Download[]): Follow {
  return async (report) => {
    await Promise.all(downloads.map(({ id }) => waitFor(ctx, id, report)));
  };
}

/**
 * One event stream for a whole batch, however large. Members that ended while no
 * stream was open (before it opened, or while it reconnected) send no event: each of
 * those is asked for with `wait` afterwards, a few at a time.
 */
export function followBatch(ctx: Context, batchId: string, downloads: readonly Download[]): Follow {
  return async (report) => {
    const pending = new Set(downloads.map(({ id }) => id));
    for await (const event of ctx.client.batchEvents(batchId, { signal: ctx.signal })) {
      if (event.type === 'progress') report.progress(event.id, event);
      else if (event.type === 'completed' || event.type === 'failed' || event.type === 'cancelled') {
        // A retried member can end twice; the first ending is the one this run reports.
        if (!pending.delete(event.id)) continue;
        const outcome = outcomeOf(event);
        if (outcome instanceof FerryClientError) report.failed(event.id, outcome);
        else report.completed(event.id, outcome);
      }
    }
    const stragglers = [...pending];
    const workers = Array.from({ length: Math.min(CONCURRENT_WAITS, stragglers.length) }, async () => {
      for (let id = stragglers.shift(); id !== undefined; id = stragglers.shift()) await waitFor(ctx, id, report);
    });
    await Promise.all(workers);
  };
}
