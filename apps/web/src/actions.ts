import { FerryClientError, type FerryClient } from '@ferry/client';
import type { Row } from './rows.js';

export type Action = 'pause' | 'resume' | 'cancel' | 'retry';

/** What a download in this state can be asked to do, as the API allows it (docs/errors.md, FERRY_ERR_WRONG_STATE). */
export function actionsFor(state: Row['state']): Action[] {
  switch (state) {
    case 'queued':
    case 'active':
    case 'delayed':
      return ['pause', 'cancel'];
    case 'paused':
      return ['resume', 'cancel'];
    case 'failed':
    case 'cancelled':
      return ['retry'];
    case 'completed':
      return [];
  }
}

export function run(client: FerryClient, action: Action, id: string) {
  switch (action) {
    case 'pause':
      return client.pause(id);
    case 'resume':
      return client.resume(id);
    case 'cancel':
      return client.cancel(id);
    case 'retry':
      return client.retry(id);
  }
}

/**
 * The action on every row of a batch it applies to, a few at a time; a rate limit is waited out.
 * Cancelling a whole batch is one request (DELETE /v1/batches/{id}); the others have no batch route.
 */
export async function runOnAll(
  client: FerryClient,
  action: Action,
  rows: readonly Row[],
  done: (id: string, state: Row['state'] | 'expired') => void,
): Promise<void> {
  const todo = rows.filter((row) => actionsFor(row.state).includes(action));
  const next = async (): Promise<void> => {
    for (let row = todo.shift(); row !== undefined; row = todo.shift()) {
      try {
        done(row.id, (await run(client, action, row.id)).state);
      } catch (err) {
        if (err instanceof FerryClientError && err.code === 'FERRY_ERR_RATE_LIMITED') {
          todo.unshift(row);
          await new Promise((resolve) => setTimeout(resolve, 2000));
        }
        // Any other refusal (the download moved on meanwhile) leaves it to the next read of the list.
      }
    }
  };
  await Promise.all([next(), next(), next()]);
}
