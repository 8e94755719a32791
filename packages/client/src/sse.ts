/** One Server-Sent Event: `event` is "message" when the server named none. */
export interface SseMessage {
  readonly event: string;
  readonly data: string;
  /** The last `id:` the stream sent, to resume with Last-Event-ID; "" when none. */
  readonly lastEventId: string;
}

const LINE_END = /\r\n|\r|\n/g;

/**
 * The text/event-stream format (WHATWG HTML §9.2.6), fed in pieces as they arrive:
 * `data:` lines join with "\n", `:` lines are comments (heartbeats), `id:` is kept
 * for reconnecting, `retry:` sets the reconnection delay, a blank line ends an event.
 */
export class SseParser {
  lastEventId = '';
  /** The server's `retry:` in milliseconds, if it sent one. */
  retryMs: number | undefined;
  /** The pieces of a line whose end has not arrived yet, joined once it does: re-reading them on every chunk made a long line quadratic. */
  #partialLine: string[] = [];
  #event = '';
  #data: string[] = [];
  /** The last chunk ended in CR: a LF starting this one is the rest of that CRLF, not an empty line. */
  #afterCr = false;

  feed(text: string): SseMessage[] {
    const chunk = this.#afterCr && text.startsWith('\n') ? text.slice(1) : text;
    if (text !== '') this.#afterCr = text.endsWith('\r');
    const messages: SseMessage[] = [];
    let start = 0;
    LINE_END.lastIndex = 0;
    for (let match = LINE_END.exec(chunk); match !== null; match = LINE_END.exec(chunk)) {
      this.#partialLine.push(chunk.slice(start, match.index));
      const message = this.#line(this.#partialLine.join(''));
      this.#partialLine = [];
      if (message !== undefined) messages.push(message);
      start = LINE_END.lastIndex;
    }
    if (start < chunk.length) this.#partialLine.push(chunk.slice(start));
    return messages;
  }

  #line(line: string): SseMessage | undefined {
    if (line === '') return this.#dispatch();
    if (line.startsWith(':')) return undefined;
    const colon = line.indexOf(':');
    const field = colon === -1 ? line : line.slice(0, colon);
    const raw = colon === -1 ? '' : line.slice(colon + 1);
    const value = raw.startsWith(' ') ? raw.slice(1) : raw;
    if (field === 'event') this.#event = value;
    else if (field === 'data') this.#data.push(value);
    else if (field === 'id' && !value.includes('\0')) this.lastEventId = value;
    else if (field === 'retry' && /^\d+$/.test(value)) this.retryMs = Number(value);
    return undefined;
  }

  #dispatch(): SseMessage | undefined {
    const message = this.#data.length === 0 ? undefined : { event: this.#event || 'message', data: this.#data.join('\n'), lastEventId: this.lastEventId };
    this.#event = '';
    this.#data = [];
    return message;
  }
}

/** The events of a response body; an event the stream ended in the middle of is dropped, as the format says. */
export async function* readSse(body: ReadableStream<Uint8Array>, parser: SseParser): AsyncGenerator<SseMessage> {
  const reader = body.getReader();
  const decoder = new TextDecoder();
  try {
    for (let chunk = await reader.read(); !chunk.done; chunk = await reader.read()) {
      yield* parser.feed(decoder.decode(chunk.value, { stream: true }));
    }
  } finally {
    // Also when the consumer stops early: closes the connection.
    await reader.cancel().catch(() => undefined);
  }
}
