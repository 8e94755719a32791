import { describe, expect, it } from 'vitest';
import { readSse, SseParser } from '../src/sse.js';

/** Feeds `text` to a fresh parser in pieces of `size` characters, as a network might deliver it. */
function parseInPieces(text: string, size: number) {
  const parser = new SseParser();
  const messages = [];
  for (let i = 0; i < text.length; i += size) messages.push(...parser.feed(text.slice(i, i + size)));
  return { parser, messages };
}

describe('the SSE parser', () => {
  const stream = [
    ': connected',
    'retry: 2500',
    '',
    'event: state',
    'id: 1',
    'data: {"type":"state","id":"a","state":"active"}',
    '',
    ': heartbeat',
    '',
    'event: note',
    'data: first line',
    'data:second line',
    'data',
    '',
    'data: unnamed',
    '',
    '',
  ].join('\n');

  it('reads named events, joins multi-line data, skips comments, and keeps id and retry', () => {
    const { parser, messages } = parseInPieces(stream, stream.length);
    expect(messages).toEqual([
      { event: 'state', data: '{"type":"state","id":"a","state":"active"}', lastEventId: '1' },
      { event: 'note', data: 'first line\nsecond line\n', lastEventId: '1' },
      { event: 'message', data: 'unnamed', lastEventId: '1' },
    ]);
    expect(parser.retryMs).toBe(2500);
  });

  it('gives the same events whatever the chunking, with LF, CRLF or CR line ends', () => {
    const expected = parseInPieces(stream, stream.length).messages;
    for (const eol of ['\n', '\r\n', '\r']) {
      const text = stream.replaceAll('\n', eol);
      for (const size of [1, 2, 3, 7, 64]) expect(parseInPieces(text, size).messages, `${JSON.stringify(eol)} in pieces of ${size}`).toEqual(expected);
    }
  });

  it('drops an event the stream ended in the middle of, and ignores a retry that is not a number', () => {
    const { parser, messages } = parseInPieces('retry: soon\ndata: whole\n\ndata: half', 4);
    expect(messages.map((m) => m.data)).toEqual(['whole']);
    expect(parser.retryMs).toBeUndefined();
  });

  // eventsource-parser 3 (the last major that runs on Node 20) loses both of these.
  it('keeps an id sent in a block without data, for the next event and for reconnecting', () => {
    const { parser, messages } = parseInPieces('id: 7\n\ndata: after\n\n', 64);
    expect(messages).toEqual([{ event: 'message', data: 'after', lastEventId: '7' }]);
    expect(parser.lastEventId).toBe('7');
  });

  it('dispatches an event as soon as a CR ends it, even when nothing follows', () => {
    expect(new SseParser().feed('data: last\r\r')).toEqual([{ event: 'message', data: 'last', lastEventId: '' }]);
  });

  it('reads one large event spread over many chunks in time linear in its size', () => {
    const data = 'x'.repeat(1 << 20);
    const started = performance.now();
    const { messages } = parseInPieces(`data: ${data}\n\n`, 1024);
    const elapsed = performance.now() - started;
    expect(messages).toEqual([{ event: 'message', data, lastEventId: '' }]);
    // Rescanning what is buffered on every chunk took 2 s for this; reading each chunk once, about 5 ms.
    expect(elapsed).toBeLessThan(300);
  });

  it('reads a byte stream split inside a multi-byte character, without its BOM', async () => {
    const bytes = new TextEncoder().encode('\uFEFFevent: progress\ndata: "wörld ✓"\n\n');
    const body = new ReadableStream<Uint8Array>({
      start(controller) {
        for (let i = 0; i < bytes.length; i += 3) controller.enqueue(bytes.slice(i, i + 3));
        controller.close();
      },
    });
    const messages = [];
    for await (const message of readSse(body, new SseParser())) messages.push(message);
    expect(messages).toEqual([{ event: 'progress', data: '"wörld ✓"', lastEventId: '' }]);
  });
});
