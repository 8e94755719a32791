import { FerryClientError, outcomeOf } from '@ferry/client';
import type { Context } from './context.js';
import { onlyClientError, type Download, type Follow, type Report } from './watch.js';

/** How many downloads a batch's stragglers are asked about at once. */
const CONCURRENT_WAITS = 8;

/** Waits for one download with the client; its failure is reported, not thrown. */
async function waitFor(ctx: Context, id: string, report: Report): Promise<void> {
  try {
    const result = await ctx.client.wait(id, {
      signal: ctx.signal,
      onState: (state) => report.state(id, state),
      onProgress: (progress) => report.progress(id, progress),
    });
    report.completed(id, result);
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
 * One event stream for a whole batch, however large. Each (re)opened stream starts with
 * every member as it is, so members that changed while no stream was open show at once.
 * Members the stream never reported ended (their jobs expired, or an older API without
 * that snapshot) are asked for with `wait` afterwards, a few at a time.
 */
export function followBatch(ctx: Context, batchId: string, downloads: readonly Download[]): Follow {
  return async (report) => {
    const pending = new Set(downloads.map(({ id }) => id));
    for await (const event of ctx.client.batchEvents(batchId, { signal: ctx.signal })) {
      // A retried member can end twice, and a reopened stream repeats endings: the first is the one this run reports, and nothing overwrites it.
      if (event.type === 'batch' || !pending.has(event.id)) continue;
      if (event.type === 'progress') report.progress(event.id, event);
      else if (event.type === 'state') report.state(event.id, event.state);
      else {
        pending.delete(event.id);
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
