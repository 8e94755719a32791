import { createHash, randomBytes } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import http, { type IncomingHttpHeaders, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo, Server } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';

export interface SeenRequest {
  readonly path: string;
  readonly headers: IncomingHttpHeaders;
  readonly at: number;
}

export type Handler = (req: IncomingMessage, res: ServerResponse) => void | Promise<void>;

export interface RandomFile {
  readonly path: string;
  readonly size: number;
  readonly sha256: string;
}

const CHUNK = 64 * 1024;

/**
 * Origins listen on 127.0.0.2, the one loopback address the test workers are
 * allowed (FERRY_EGRESS_ALLOW_CIDRS), so that 127.0.0.1 stays forbidden and the
 * SSRF suite's canaries there prove it.
 */
export const ORIGIN_HOST = '127.0.0.2';
export const TEST_PORTS = { from: 40_000, to: 40_999 } as const;
/** What test workers and launched Ferry instances need to reach the fixture origins, and nothing else private. */
export const TEST_EGRESS_ENV = {
  FERRY_EGRESS_ALLOW_CIDRS: `${ORIGIN_HOST}/32`,
  FERRY_EGRESS_ALLOW_PORTS: `${TEST_PORTS.from}-${TEST_PORTS.to}`,
} as const;

/** Binds a free port in TEST_PORTS, starting at a random one so parallel runs rarely collide. */
export async function listenInTestPorts(server: Server, host: string): Promise<void> {
  const span = TEST_PORTS.to - TEST_PORTS.from + 1;
  const first = Math.floor(Math.random() * span);
  for (let i = 0; i < span; i += 1) {
    const port = TEST_PORTS.from + ((first + i) % span);
    const bound = await new Promise<boolean>((resolve) => {
      const onError = () => resolve(false);
      server.once('error', onError);
      server.listen(port, host, () => {
        server.off('error', onError);
        resolve(true);
      });
    });
    if (bound) return;
  }
  throw new Error(`no free port in ${TEST_PORTS.from}-${TEST_PORTS.to} on ${host}`);
}

/**
 * A real HTTP origin on 127.0.0.2 (see ORIGIN_HOST). Each path answers with a script of
 * handlers, one per request in order (the last one repeats), and every request
 * is recorded so tests can assert on what crossed the wire.
 */
export class TestOrigin {
  readonly #server: http.Server;
  readonly #dir: string;
  readonly #scripts = new Map<string, Handler[]>();
  readonly #seen: SeenRequest[] = [];

  private constructor(server: http.Server, dir: string) {
    this.#server = server;
    this.#dir = dir;
  }

  /** Listens on `host` at a free port in TEST_PORTS, the only ports the test workers may reach. */
  static async start(host = ORIGIN_HOST): Promise<TestOrigin> {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'ferry-test-origin-'));
    const server = http.createServer();
    const origin = new TestOrigin(server, dir);
    server.on('request', (req, res) => void origin.#handle(req, res));
    await listenInTestPorts(server, host);
    return origin;
  }

  get baseUrl(): string {
    const { address, port } = this.#server.address() as AddressInfo;
    return `http://${address.includes(':') ? `[${address}]` : address}:${port}`;
  }

  url(pathname: string): string {
    return `${this.baseUrl}${pathname}`;
  }

  /** Answers requests for `pathname` with `handlers[0]`, then `handlers[1]`, …; the last one repeats. */
  route(pathname: string, ...handlers: Handler[]): string {
    this.#scripts.set(pathname, handlers);
    return this.url(pathname);
  }

  requests(pathname: string): SeenRequest[] {
    return this.#seen.filter((r) => r.path === pathname);
  }

  /** Writes `size` random bytes to a temp file (streamed, never held in memory) and returns its digest. */
  async randomFile(name: string, size: number): Promise<RandomFile> {
    const file = path.join(this.#dir, name);
    const hash = createHash('sha256');
    const out = createWriteStream(file);
    for (let written = 0; written < size; written += CHUNK) {
      const chunk = randomBytes(Math.min(CHUNK, size - written));
      hash.update(chunk);
      if (!out.write(chunk)) await new Promise<void>((resolve) => out.once('drain', () => resolve()));
    }
    await new Promise<void>((resolve, reject) => out.end((err?: Error | null) => (err ? reject(err) : resolve())));
    return { path: file, size, sha256: hash.digest('hex') };
  }

  async close(): Promise<void> {
    this.#server.closeAllConnections();
    await new Promise<void>((resolve) => this.#server.close(() => resolve()));
    await rm(this.#dir, { recursive: true, force: true });
  }

  async #handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const pathname = new URL(req.url ?? '/', this.baseUrl).pathname;
    const index = this.#seen.filter((r) => r.path === pathname).length;
    this.#seen.push({ path: pathname, headers: req.headers, at: Date.now() });
    const script = this.#scripts.get(pathname);
    const handler = script?.[Math.min(index, script.length - 1)];
    if (handler === undefined) {
      res.writeHead(404).end();
      return;
    }
    try {
      await handler(req, res);
    } catch {
      res.destroy();
    }
  }
}

export interface ServeOptions {
  /** Throttle to about this many bytes per second. */
  readonly bytesPerSecond?: number;
  /** Destroy the connection after this many body bytes of this response, though its length promised more. */
  readonly closeAfterBytes?: number;
  /** Sent as ETag; a Range is served when If-Range names it (or is absent). */
  readonly etag?: string;
  /** Sends `Accept-Ranges: bytes`, which segmented downloads wait for. */
  readonly acceptRanges?: boolean;
  readonly headers?: Record<string, string>;
}

/** Bytes of body each response of a route actually put on the wire, in order. */
export const bodyBytesSent = new Map<string, number[]>();

/** `bytes=start-` or `bytes=start-end`, when If-Range allows it. */
function requestedRange(req: IncomingMessage, file: RandomFile, options: ServeOptions): { start: number; end: number } | undefined {
  const match = /^bytes=(\d+)-(\d*)$/.exec(req.headers.range ?? '');
  if (match?.[1] === undefined || options.etag === undefined) return undefined;
  const ifRange = req.headers['if-range'];
  if (ifRange !== undefined && ifRange !== options.etag) return undefined;
  const start = Number(match[1]);
  const end = match[2] === undefined || match[2] === '' ? file.size - 1 : Math.min(Number(match[2]), file.size - 1);
  return start <= end ? { start, end } : undefined;
}

/** Serves a file with its true length, optionally slowly, cut short, or ranged. */
export function serveFile(file: RandomFile, options: ServeOptions = {}): Handler {
  return async (req, res) => {
    const range = requestedRange(req, file, options);
    const start = range?.start;
    const end = range?.end ?? file.size - 1;
    const headers: Record<string, string> = { 'content-type': 'application/octet-stream', ...options.headers };
    if (options.etag !== undefined) headers['etag'] = options.etag;
    if (options.acceptRanges === true) headers['accept-ranges'] = 'bytes';
    headers['content-length'] = String(end + 1 - (start ?? 0));
    if (start !== undefined) headers['content-range'] = `bytes ${start}-${end}/${file.size}`;
    res.writeHead(start === undefined ? 200 : 206, headers);

    const pathname = new URL(req.url ?? '/', 'http://x').pathname;
    const sentLog = bodyBytesSent.get(pathname) ?? [];
    bodyBytesSent.set(pathname, sentLog);
    const index = sentLog.push(0) - 1;
    const from = start ?? 0;
    const limit = Math.min(end + 1 - from, options.closeAfterBytes ?? Infinity);
    let sent = 0;
    const started = Date.now();
    const body = limit === 0 ? [] : createReadStream(file.path, { highWaterMark: CHUNK, start: from, end: from + limit - 1 });
    for await (const chunk of body) {
      if (res.destroyed) break;
      const buffer = chunk as Buffer;
      if (!res.write(buffer)) await new Promise((resolve) => res.once('drain', resolve));
      sent += buffer.length;
      sentLog[index] = sent;
      if (options.bytesPerSecond !== undefined) {
        const due = started + (sent / options.bytesPerSecond) * 1000;
        if (due > Date.now()) await sleep(due - Date.now());
      }
    }
    if (limit < end + 1 - from) {
      // What was written reaches the socket before it closes: destroying at once can drop the buffered bytes,
      // or even the headers, and a truncation test would then see no bytes at all (or an error before the body).
      if (!res.destroyed) await new Promise<void>((resolve) => res.write(Buffer.alloc(0), () => resolve()));
      res.destroy();
    } else res.end();
  };
}

export function status(code: number, headers: Record<string, string> = {}): Handler {
  return (_req, res) => {
    res.writeHead(code, { 'content-type': 'text/plain', ...headers }).end(`status ${code}\n`);
  };
}
