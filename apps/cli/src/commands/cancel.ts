import type { Context } from '../context.js';
import { EXIT, UsageError } from '../usage.js';

/** `ferry cancel <id>`. */
export async function cancel(ctx: Context, id: string | undefined): Promise<number> {
  if (id === undefined) throw new UsageError('cancel needs a download id: ferry cancel <id>');
  const { state } = await ctx.client.cancel(id, { signal: ctx.signal });
  ctx.out.write(state === 'cancelled' ? `cancelled ${id}\n` : `cancelling ${id}: it is ${state} and stops shortly\n`);
  return EXIT.ok;
}
