import type { IncomingMessage, ServerResponse } from 'node:http';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Handler } from './scripted-origin.js';

export interface RangeOptions {
  readonly etag: string;
  /**
   * `honour`: a Range is served when If-Range matches; `ignore`: always 200 and
   * the whole body; `unconditional`: 206 whatever If-Range says (as origins that
   * ignore If-Range do); `wrong-start`: the Content-Range starts a byte late.
   * @defaultValue `'honour'`
   */
  readonly range?: 'honour' | 'ignore' | 'unconditional' | 'wrong-start';
  /** Ranged responses not starting at 0 close after this many body bytes, though they promised more. */
  readonly cutRangesAfter?: number;
  /** Each connection's own limit, as an origin that throttles per connection. */
  readonly bytesPerSecond?: number;
}

const CHUNK = 64 * 1024;

/** Waits for room in the socket, or its end, leaving no listener behind. */
function drainedOrClosed(res: ServerResponse): Promise<void> {
  return new Promise((resolve) => {
    const done = () => {
      res.off('drain', done).off('close', done);
      resolve();
    };
    res.on('drain', done).on('close', done);
  });
}

/** `bytes=first-` or `bytes=first-last`, clamped to the file; undefined when not one such range. */
function requestedRange(req: IncomingMessage, size: number): { first: number; last: number } | undefined {
  const match = /^bytes=(\d+)-(\d*)$/.exec(req.headers.range ?? '');
  if (match === null) return undefined;
  const first = Number(match[1]);
  const last = match[2] === '' ? size - 1 : Math.min(Number(match[2]), size - 1);
  return first <= last ? { first, last } : undefined;
}

/** Serves `bytes` with Accept-Ranges and a strong ETag, answering single ranges as `options` says. */
export function serveRanges(bytes: Buffer, options: RangeOptions): Handler {
  return async (req, res, exchange) => {
    const asked = options.range === 'ignore' ? undefined : requestedRange(req, bytes.length);
    const ifRange = req.headers['if-range'];
    const honoured =
      asked !== undefined && (options.range !== undefined && options.range !== 'honour' ? true : ifRange === undefined || ifRange === options.etag);
    const { first, last } = honoured ? asked : { first: 0, last: bytes.length - 1 };
    const headers: Record<string, string> = {
      'content-type': 'application/octet-stream',
      'accept-ranges': 'bytes',
      etag: options.etag,
      'content-length': String(last - first + 1),
    };
    if (honoured) {
      const shown = options.range === 'wrong-start' ? first + 1 : first;
      headers['content-range'] = `bytes ${shown}-${last}/${bytes.length}`;
    }
    res.writeHead(honoured ? 206 : 200, headers);
    const end = honoured && first > 0 ? Math.min(last + 1, first + (options.cutRangesAfter ?? Infinity)) : last + 1;
    const started = Date.now();
    for (let at = first; at < end && !res.destroyed; at += CHUNK) {
      const chunk = bytes.subarray(at, Math.min(at + CHUNK, end));
      if (!res.write(chunk)) await drainedOrClosed(res);
      exchange.bodyBytesSent += chunk.length;
      if (options.bytesPerSecond !== undefined) await sleep(Math.max(0, started + (exchange.bodyBytesSent / options.bytesPerSecond) * 1000 - Date.now()));
    }
    if (end <= last) res.destroy();
    else res.end();
  };
}
