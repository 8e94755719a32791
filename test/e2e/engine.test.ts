import { spawn } from 'node:child_process';
import { once } from 'node:events';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { pathOf, sha256File } from '../support/files.js';
import { bodyBytesSent, ORIGIN_HOST, serveFile, status, TEST_PORTS, type Handler } from '../support/origin.js';
import { useStack } from '../support/stack.js';

const MiB = 1024 * 1024;

const stack = useStack({ workers: 1 });

describe('when the connection closes mid-body and the origin supports ranges', () => {
  it('resumes from the bytes kept on disk instead of starting over', async () => {
    const file = await stack.origin.randomFile('resume.bin', 10 * MiB);
    const route = '/resume/resume.bin';
    const url = stack.origin.route(route, serveFile(file, { etag: '"v1"', closeAfterBytes: 4 * MiB }), serveFile(file, { etag: '"v1"' }));

    const final = await stack.ferry.waitFor(await stack.ferry.enqueue({ url }));

    expect(final.state).toBe('completed');
    expect(await sha256File(pathOf(final.result!.location))).toBe(file.sha256);
    const [first, second] = stack.origin.requests(route);
    expect(first?.headers.range).toBeUndefined();
    expect(second?.headers['if-range']).toBe('"v1"');
    const resumedAt = Number(/^bytes=(\d+)-$/.exec(String(second?.headers.range))?.[1]);
    const [firstSent, secondSent] = bodyBytesSent.get(route) ?? [];
    // Everything that reached the worker before the cut was kept: only bytes lost in flight are fetched twice.
    expect(resumedAt).toBeGreaterThan(firstSent! - MiB);
    expect(secondSent).toBe(file.size - resumedAt);
    expect(final.result?.etag).toBe('"v1"');
  });
});

describe('file names', () => {
  const named =
    (disposition: string | undefined, contentType = 'application/octet-stream'): Handler =>
    (_req, res) => {
      // Node sends header strings as Latin-1; origins send UTF-8 names as raw bytes, which this reproduces.
      const raw = disposition === undefined ? {} : { 'content-disposition': Buffer.from(disposition, 'utf8').toString('latin1') };
      res.writeHead(200, { 'content-type': contentType, ...raw }).end('payload');
    };

  it.each([
    ['attachment; filename="plain.txt"', 'plain.txt'],
    [`attachment; filename="fallback.txt"; filename*=UTF-8''r%C3%A9sum%C3%A9.pdf`, 'résumé.pdf'],
    ['attachment; filename="../../escape.txt"', '.._.._escape.txt'],
    ['attachment; filename="/etc/passwd"', '_etc_passwd'],
    ['attachment; filename="..\\\\win.txt"', '.._win.txt'],
    [`attachment; filename*=UTF-8''%2e%2e%2fpct.txt`, '.._pct.txt'],
    ['attachment; filename="CON"', '_CON'],
    ['attachment; filename="evil\u202Etxt.exe"', 'eviltxt.exe'],
  ])('stores Content-Disposition %j as %j, inside the storage root', async (disposition, expected) => {
    const route = `/names/${encodeURIComponent(expected)}/download`;
    const final = await stack.ferry.waitFor(await stack.ferry.enqueue({ url: stack.origin.route(route, named(disposition)) }));
    expect(final.state).toBe('completed');
    expect(final.result?.filename).toBe(expected);
    expect(path.dirname(pathOf(final.result!.location))).toBe(stack.ferry.filesOf());
  });

  // A bare %2e%2e segment never reaches Ferry as a name: URL parsing resolves it as "..", as browsers do.
  it.each([
    ['/names/url/%2e%2e%2f%2e%2e%2fetc%2fpasswd', '.._.._etc_passwd'],
    ['/names/url/..%5Cwin.ini', '.._win.ini'],
    ['/names/url/%00report.txt', 'report.txt'],
    ['/names/url/nul.txt', '_nul.txt'],
  ])('derives a safe name from the URL path %s', async (route, expected) => {
    const final = await stack.ferry.waitFor(await stack.ferry.enqueue({ url: stack.origin.route(route, named(undefined)) }));
    expect(final.state).toBe('completed');
    expect(final.result?.filename).toBe(expected);
    expect(path.dirname(pathOf(final.result!.location))).toBe(stack.ferry.filesOf());
  });

  it('caps a 300-byte name at 255 bytes', async () => {
    const final = await stack.ferry.waitFor(
      await stack.ferry.enqueue({ url: stack.origin.route('/names/long', named(`attachment; filename="${'x'.repeat(300)}.bin"`)) }),
    );
    expect(Buffer.byteLength(final.result!.filename)).toBeLessThanOrEqual(255);
    expect(path.dirname(pathOf(final.result!.location))).toBe(stack.ferry.filesOf());
  });

  it('adds an extension from Content-Type when the name has none', async () => {
    const final = await stack.ferry.waitFor(await stack.ferry.enqueue({ url: stack.origin.route('/names/report', named(undefined, 'application/pdf')) }));
    expect(final.result?.filename).toBe('report.pdf');
  });

  it('prefers the request filename over everything the origin says', async () => {
    const final = await stack.ferry.waitFor(
      await stack.ferry.enqueue({ url: stack.origin.route('/names/mine', named('attachment; filename="theirs.txt"')), filename: 'mine.dat' }),
    );
    expect(final.result?.filename).toBe('mine.dat');
  });
});

describe('when the file name is taken', () => {
  const body =
    (text: string): Handler =>
    (_req, res) => {
      res.writeHead(200, { 'content-type': 'text/plain' }).end(text);
    };

  it('overwrites it when the request says so', async () => {
    await stack.ferry.waitFor(await stack.ferry.enqueue({ url: stack.origin.route('/conflict/one', body('first')), filename: 'shared.txt' }));
    const second = await stack.ferry.waitFor(
      await stack.ferry.enqueue({ url: stack.origin.route('/conflict/two', body('second')), filename: 'shared.txt', onConflict: 'overwrite' }),
    );
    expect(second.result?.filename).toBe('shared.txt');
    const { readFile } = await import('node:fs/promises');
    expect(await readFile(path.join(stack.ferry.filesOf(), 'shared.txt'), 'utf8')).toBe('second');
  });

  it('fails permanently and keeps the existing file when the request says fail', async () => {
    await stack.ferry.waitFor(await stack.ferry.enqueue({ url: stack.origin.route('/conflict/three', body('original')), filename: 'kept.txt' }));
    const second = await stack.ferry.waitFor(
      await stack.ferry.enqueue({ url: stack.origin.route('/conflict/four', body('intruder')), filename: 'kept.txt', onConflict: 'fail' }),
    );
    expect(second.state).toBe('failed');
    expect(second.error).toMatchObject({ code: 'FERRY_ERR_FILE_EXISTS', retryable: false });
    const { readFile } = await import('node:fs/promises');
    expect(await readFile(path.join(stack.ferry.filesOf(), 'kept.txt'), 'utf8')).toBe('original');
  });
});

describe('when the request carries credentials', () => {
  it('shows them nowhere: not in logs, job data, API output or error messages', async () => {
    const secret = 'Bearer top-secret-credential-42';
    const worker = await stack.ferry.startWorker({ FERRY_LOG_LEVEL: 'trace' });
    const id = await stack.ferry.enqueue({
      url: stack.origin.route('/secret/denied', status(403)),
      headers: { Authorization: secret, Cookie: 'session=top-secret-cookie' },
    });
    const final = await stack.ferry.waitFor(id);
    expect(final.state).toBe('failed');
    expect(stack.origin.requests('/secret/denied')[0]?.headers.authorization).toBe(secret);
    const job = await stack.ferry.queue.getJob(id);
    const everything = [
      JSON.stringify(final),
      job?.failedReason ?? '',
      (job?.stacktrace ?? []).join('\n'),
      worker.logs(),
      ...stack.ferry.workers.map((w) => w.logs()),
    ].join('\n');
    expect(everything).not.toContain('top-secret');
  });
});

describe('on status codes', () => {
  it('retries 503 and answers ORIGIN_UNAVAILABLE, fails 410 at once with ORIGIN_REJECTED', async () => {
    const gone = await stack.ferry.waitFor(await stack.ferry.enqueue({ url: stack.origin.route('/codes/gone', status(410)) }));
    expect(gone).toMatchObject({ state: 'failed', attempts: { made: 1 }, error: { code: 'FERRY_ERR_ORIGIN_REJECTED', retryable: false } });
  });
});

/** Listens with a one-connection accept queue, fills it, prints the port, and never accepts; exits when stdin closes. */
const BLACKHOLE = `
import random, socket, sys
host, low, high = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
for port in random.sample(range(low, high + 1), high - low + 1):
    server = socket.socket()
    try:
        server.bind((host, port))
        break
    except OSError:
        server.close()
server.listen(0)
fillers = [socket.socket() for _ in range(2)]
for filler in fillers:
    filler.setblocking(False)
    filler.connect_ex((host, port))
print(port, flush=True)
sys.stdin.read()
`;

describe('timeouts', () => {
  const hang: Handler = () => new Promise(() => undefined);

  it('fails an attempt with FERRY_ERR_HEADERS_TIMEOUT when the origin never answers, and retries it', async () => {
    const url = stack.origin.route('/timeouts/no-answer', hang);
    const waiting = await stack.ferry.waitFor(await stack.ferry.enqueue({ url, timeouts: { headersMs: 300 } }), ['delayed', 'failed']);
    expect(waiting.error).toMatchObject({ code: 'FERRY_ERR_HEADERS_TIMEOUT', retryable: true });
  });

  it('fails an attempt with FERRY_ERR_CONNECT_TIMEOUT when the origin never completes the TCP handshake, and retries it', async () => {
    // A listener whose accept queue is full: the kernel drops further SYNs, as a firewalled or overloaded host does.
    const blackhole = spawn('python3', ['-c', BLACKHOLE, ORIGIN_HOST, String(TEST_PORTS.from), String(TEST_PORTS.to)], { stdio: ['pipe', 'pipe', 'inherit'] });
    try {
      const [line] = (await once(blackhole.stdout, 'data')) as [Buffer];
      const url = `http://${ORIGIN_HOST}:${Number(line.toString())}/never`;
      const waiting = await stack.ferry.waitFor(await stack.ferry.enqueue({ url, timeouts: { connectMs: 300 } }), ['delayed', 'failed']);
      expect(waiting.error).toMatchObject({ code: 'FERRY_ERR_CONNECT_TIMEOUT', retryable: true });
    } finally {
      blackhole.stdin.end();
    }
  });

  it('fails an attempt with FERRY_ERR_BODY_TIMEOUT when the body stalls, and retries it', async () => {
    const stall: Handler = (_req, res) => {
      res.writeHead(200, { 'content-length': '1000000' });
      res.write(Buffer.alloc(100_000));
      return new Promise(() => undefined);
    };
    const url = stack.origin.route('/timeouts/stall', stall);
    const waiting = await stack.ferry.waitFor(await stack.ferry.enqueue({ url, timeouts: { bodyIdleMs: 300 } }), ['delayed', 'failed']);
    expect(waiting.error).toMatchObject({ code: 'FERRY_ERR_BODY_TIMEOUT', retryable: true });
  });

  it('fails an attempt with FERRY_ERR_TOO_SLOW when the origin drips below the minimum speed', async () => {
    const file = await stack.origin.randomFile('drip.bin', MiB);
    const url = stack.origin.route('/timeouts/drip.bin', serveFile(file, { bytesPerSecond: 20_000 }));
    const waiting = await stack.ferry.waitFor(await stack.ferry.enqueue({ url, timeouts: { lowSpeedBytesPerSecond: 200_000, lowSpeedWindowMs: 500 } }), [
      'delayed',
      'failed',
    ]);
    expect(waiting.error).toMatchObject({ code: 'FERRY_ERR_TOO_SLOW', retryable: true });
    expect(waiting.error?.message).toMatch(/below the limit of 200000 bytes\/s/);
  });
});

describe('when the origin answers 503 with Retry-After as an HTTP-date', () => {
  it('waits until that date before the next attempt', async () => {
    const file = await stack.origin.randomFile('dated.bin', 100);
    const later: Handler = (_req, res) => {
      res.writeHead(503, { 'retry-after': new Date(Date.now() + 3000).toUTCString() }).end();
    };
    const route = '/retry-after/dated.bin';
    const final = await stack.ferry.waitFor(await stack.ferry.enqueue({ url: stack.origin.route(route, later, serveFile(file)) }));
    expect(final.state).toBe('completed');
    const [first, second] = stack.origin.requests(route);
    // HTTP-dates have whole seconds: "3 s from now" can be as little as 2 s away.
    expect(second!.at - first!.at).toBeGreaterThanOrEqual(1900);
  });
});
