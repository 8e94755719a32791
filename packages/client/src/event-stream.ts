import type { z } from 'zod';
import { FerryClientError } from './client-error.js';
import { badResponse, parseBody, unreachable } from './http.js';
import { RetryBudget } from './retry-budget.js';
import { readSse, SseParser, type SseMessage } from './sse.js';

export interface StreamSource {
  readonly baseUrl: string;
  readonly signal: AbortSignal | undefined;
  /** Opens the stream, resuming after `lastEventId` when it is not "". */
  open(lastEventId: string): Promise<Response>;
}

export interface StreamEvents<T> {
  readonly schema: z.ZodType<T>;
  /** The `event:` names `schema` parses; others (a newer server's) are skipped. */
  readonly types: ReadonlySet<string>;
  /** The event after which nothing follows: the iteration stops there. */
  readonly isLast: (event: T) => boolean;
  /** An event after which the server may close the stream for good (a snapshot of a finished download): no reconnecting then. */
  readonly isSettled: (event: T) => boolean;
}

/** The event's JSON checked against `schema`; undefined for an event type this client does not know (a newer server's). */
function parseEvent<T>(schema: z.ZodType<T>, message: SseMessage, known: ReadonlySet<string>): T | undefined {
  if (!known.has(message.event)) return undefined;
  return parseBody(schema, message.data, `a ${message.event} event`);
}

/**
 * Parsed events of an SSE endpoint. A stream that drops (or ends before its last
 * event) is reopened with Last-Event-ID after the server's `retry:` delay or a backoff;
 * transient failures in a row are bounded by RetryBudget, anything else is thrown.
 */
export async function* eventStream<T>(source: StreamSource, events: StreamEvents<T>): AsyncGenerator<T> {
  const parser = new SseParser();
  const budget = new RetryBudget(source.signal);
  let settled = false;
  for (;;) {
    try {
      const response = await source.open(parser.lastEventId);
      if (!response.headers.get('content-type')?.startsWith('text/event-stream') || response.body === null) {
        await response.body?.cancel();
        throw badResponse(`Ferry at ${source.baseUrl} answered ${response.headers.get('content-type') ?? 'no content type'} instead of an event stream`, {
          status: response.status,
        });
      }
      for await (const message of readSse(response.body, parser)) {
        const event = parseEvent(events.schema, message, events.types);
        if (event === undefined) continue;
        budget.succeeded();
        settled = events.isSettled(event);
        yield event;
        if (events.isLast(event)) return;
      }
      if (settled) return;
      throw new FerryClientError('FERRY_CLIENT_ERR_UNREACHABLE', 'the event stream ended before its last event');
    } catch (err) {
      await budget.failed(err instanceof FerryClientError ? err : unreachable(source.baseUrl, err), parser.retryMs);
    }
  }
}
