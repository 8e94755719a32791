import { SseParser } from '@ferry/client';

/** One Server-Sent Event as it crossed the wire. */
export interface SseEvent {
  readonly event: string;
  readonly data: unknown;
}

export interface SseStream {
  readonly status: number;
  readonly contentType: string | null;
  /** The events in order, until the server ends the stream. */
  events(): AsyncGenerator<SseEvent>;
  /** Goes away as a client would: closes the connection. */
  close(): void;
}

/** Opens `url` with fetch and parses its `text/event-stream` body as it arrives. */
export async function openSse(url: string, headers: Record<string, string>): Promise<SseStream> {
  const abort = new AbortController();
  const response = await fetch(url, { headers: { accept: 'text/event-stream', ...headers }, signal: abort.signal });
  async function* events(): AsyncGenerator<SseEvent> {
    if (response.body === null) return;
    const parser = new SseParser();
    const decoder = new TextDecoder();
    try {
      for await (const chunk of response.body) {
        for (const message of parser.feed(decoder.decode(chunk as Uint8Array, { stream: true }))) {
          yield { event: message.event, data: JSON.parse(message.data) };
        }
      }
    } catch (err) {
      if (!abort.signal.aborted) throw err;
    }
  }
  return { status: response.status, contentType: response.headers.get('content-type'), events, close: () => abort.abort() };
}
