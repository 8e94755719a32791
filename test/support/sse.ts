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
  /** Comment lines seen so far (heartbeats). */
  readonly comments: string[];
  /** Goes away as a client would: closes the connection. */
  close(): void;
}

/** Opens `url` with fetch and parses its `text/event-stream` body as it arrives. */
export async function openSse(url: string, headers: Record<string, string>): Promise<SseStream> {
  const abort = new AbortController();
  const response = await fetch(url, { headers: { accept: 'text/event-stream', ...headers }, signal: abort.signal });
  const comments: string[] = [];
  async function* events(): AsyncGenerator<SseEvent> {
    if (response.body === null) return;
    const decoder = new TextDecoder();
    let buffer = '';
    try {
      for await (const chunk of response.body) {
        buffer += decoder.decode(chunk as Uint8Array, { stream: true });
        let end: number;
        while ((end = buffer.indexOf('\n\n')) >= 0) {
          const block = buffer.slice(0, end);
          buffer = buffer.slice(end + 2);
          let event = 'message';
          const data: string[] = [];
          for (const line of block.split('\n')) {
            if (line.startsWith(':')) comments.push(line);
            else if (line.startsWith('event: ')) event = line.slice(7);
            else if (line.startsWith('data: ')) data.push(line.slice(6));
          }
          if (data.length > 0) yield { event, data: JSON.parse(data.join('\n')) };
        }
      }
    } catch (err) {
      if (!abort.signal.aborted) throw err;
    }
  }
  return { status: response.status, contentType: response.headers.get('content-type'), events, comments, close: () => abort.abort() };
}
