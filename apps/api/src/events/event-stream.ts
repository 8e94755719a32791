import type { FastifyReply } from 'fastify';

/** Comments every so often keep proxies and load balancers from closing a quiet stream. */
export const HEARTBEAT_MS = 15_000;

export interface EventStream {
  send(type: string, data: unknown): void;
  /** Ends the response; the `onClose` callbacks run. */
  end(): void;
  readonly closed: boolean;
}

/**
 * Turns a reply into a Server-Sent Events stream (`event:` and `data:` lines).
 * `onClose` runs once, whether the client went away, the stream ended, or the server is closing.
 */
export function openEventStream(reply: FastifyReply, onClose: () => void): EventStream {
  reply.hijack();
  const raw = reply.raw;
  raw.writeHead(200, {
    'content-type': 'text/event-stream; charset=utf-8',
    'cache-control': 'no-cache, no-transform',
    connection: 'keep-alive',
    // nginx would otherwise buffer the stream and deliver it in lumps.
    'x-accel-buffering': 'no',
  });
  let closed = false;
  const heartbeat = setInterval(() => raw.write(': keep-alive\n\n'), HEARTBEAT_MS);
  heartbeat.unref();
  raw.once('close', () => {
    closed = true;
    clearInterval(heartbeat);
    onClose();
  });
  return {
    send(type, data) {
      if (!closed) raw.write(`event: ${type}\ndata: ${JSON.stringify(data)}\n\n`);
    },
    end() {
      if (!closed) raw.end();
    },
    get closed() {
      return closed;
    },
  };
}
