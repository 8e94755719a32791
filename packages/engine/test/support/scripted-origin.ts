import { once } from 'node:events';
import http, { type IncomingHttpHeaders, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';

/** One request as the origin saw it, and how much body its response put on the wire. */
export interface Exchange {
  readonly headers: IncomingHttpHeaders;
  /** The TCP connection it came on, numbered as the origin accepted them. */
  readonly connection: number;
  bodyBytesSent: number;
  /** True once the connection closed before the response was complete. */
  cutShort: boolean;
}

export type Handler = (req: IncomingMessage, res: ServerResponse, exchange: Exchange) => void | Promise<void>;

/**
 * A real HTTP origin on 127.0.0.1, port 0. Each path answers with a script of
 * handlers, one per request in order (the last one repeats), and every exchange
 * is recorded, so a test asserts on what crossed the wire.
 */
export class ScriptedOrigin {
  readonly #scripts = new Map<string, Handler[]>();
  readonly #seen = new Map<string, Exchange[]>();
  readonly #connectionIds = new WeakMap<Socket, number>();
  #accepted = 0;

  private constructor(private readonly server: http.Server) {}

  static async start(): Promise<ScriptedOrigin> {
    const server = http.createServer();
    const origin = new ScriptedOrigin(server);
    server.on('connection', (socket: Socket) => origin.#connectionIds.set(socket, origin.#accepted++));
    server.on('request', (req: IncomingMessage, res: ServerResponse) => void origin.#handle(req, res));
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    return origin;
  }

  get port(): number {
    return (this.server.address() as AddressInfo).port;
  }

  /** Answers requests for `pathname` with `handlers[0]`, then `handlers[1]`, …; the last one repeats. */
  route(pathname: string, ...handlers: Handler[]): string {
    this.#scripts.set(pathname, handlers);
    return `http://127.0.0.1:${this.port}${pathname}`;
  }

  exchanges(pathname: string): readonly Exchange[] {
    return this.#seen.get(pathname) ?? [];
  }

  /** How many TCP connections requests for `pathname` came on. */
  connections(pathname: string): number {
    return new Set(this.exchanges(pathname).map((exchange) => exchange.connection)).size;
  }

  async close(): Promise<void> {
    this.server.closeAllConnections();
    this.server.close();
    await once(this.server, 'close');
  }

  async #handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const pathname = new URL(req.url ?? '/', 'http://origin.test').pathname;
    const seen = this.#seen.get(pathname) ?? [];
    this.#seen.set(pathname, seen);
    const exchange: Exchange = { headers: req.headers, connection: this.#connectionIds.get(req.socket) ?? -1, bodyBytesSent: 0, cutShort: false };
    const script = this.#scripts.get(pathname) ?? [];
    const handler = script[Math.min(seen.length, script.length - 1)];
    seen.push(exchange);
    res.on('close', () => {
      exchange.cutShort = !res.writableFinished;
    });
    if (handler === undefined) {
      res.writeHead(404).end();
      return;
    }
    try {
      await handler(req, res, exchange);
    } catch {
      res.destroy();
    }
  }
}

export interface ServeOptions {
  readonly etag?: string;
  readonly lastModified?: string;
  /**
   * How to treat `Range`: serve it when If-Range matches (the default once a
   * validator is set), ignore it (200, whole body), or answer 206 whatever
   * If-Range says (`unconditional`), optionally with a Content-Range that starts
   * elsewhere (`wrong-start`) or names another complete length (`wrong-total`).
   */
  readonly range?: 'honour' | 'ignore' | 'unconditional' | 'wrong-start' | 'wrong-total';
  /** Destroys the connection after this many body bytes, though the length promised more. */
  readonly closeAfterBytes?: number;
  /** No Content-Length: chunked transfer encoding. */
  readonly chunked?: boolean;
  readonly bytesPerSecond?: number;
  readonly headers?: Readonly<Record<string, string>>;
}

const CHUNK = 64 * 1024;

function rangeStart(req: IncomingMessage, size: number, options: ServeOptions): number | undefined {
  const validator = options.etag ?? options.lastModified;
  const match = /^bytes=(\d+)-$/.exec(req.headers.range ?? '');
  if (match === null || options.range === 'ignore' || (options.range === undefined && validator === undefined)) return undefined;
  const ifRange = req.headers['if-range'];
  const checked = options.range === undefined || options.range === 'honour';
  if (checked && ifRange !== undefined && ifRange !== validator) return undefined;
  const start = Number(match[1]);
  return start < size ? start : undefined;
}

/** Serves `bytes` with their true length, optionally ranged, cut short, chunked or slowly. */
export function serveBytes(bytes: Buffer, options: ServeOptions = {}): Handler {
  return async (req, res, exchange) => {
    const start = rangeStart(req, bytes.length, options);
    const headers: Record<string, string> = { 'content-type': 'application/octet-stream', ...options.headers };
    if (options.etag !== undefined) headers['etag'] = options.etag;
    if (options.lastModified !== undefined) headers['last-modified'] = options.lastModified;
    const from = start ?? 0;
    if (options.chunked !== true) headers['content-length'] = String(bytes.length - from);
    if (start !== undefined) {
      const first = options.range === 'wrong-start' ? start + 1 : start;
      const complete = options.range === 'wrong-total' ? bytes.length + 1 : bytes.length;
      headers['content-range'] = `bytes ${first}-${bytes.length - 1}/${complete}`;
    }
    res.writeHead(start === undefined ? 200 : 206, headers);
    const end = Math.min(bytes.length, from + (options.closeAfterBytes ?? Infinity));
    const started = Date.now();
    for (let at = from; at < end && !res.destroyed; at += CHUNK) {
      const chunk = bytes.subarray(at, Math.min(at + CHUNK, end));
      if (!res.write(chunk)) await new Promise((resolve) => res.once('drain', resolve).once('close', resolve));
      exchange.bodyBytesSent += chunk.length;
      if (options.bytesPerSecond !== undefined) await sleep(Math.max(0, started + (exchange.bodyBytesSent / options.bytesPerSecond) * 1000 - Date.now()));
    }
    if (end < bytes.length) res.destroy();
    else res.end();
  };
}

export function answer(status: number, headers: Readonly<Record<string, string>> = {}, body: string | Buffer = ''): Handler {
  return (_req, res) => {
    res.writeHead(status, headers).end(body);
  };
}

/** Writes `raw` to the socket as the whole response, framing errors included. */
export function rawResponse(raw: string): Handler {
  return (req) => {
    req.socket.end(raw);
  };
}
