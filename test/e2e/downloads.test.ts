import { stat } from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { listFiles, pathOf, sha256File } from '../support/files.js';
import { serveFile, status, TestOrigin, type RandomFile } from '../support/origin.js';
import { useStack } from '../support/stack.js';

const MiB = 1024 * 1024;

const stack = useStack({ workers: 1 });

describe('when many files of different sizes are enqueued together', () => {
  it('completes every one and stores bytes whose sha256 equals the origin file', async () => {
    const sizes = [0, 1, MiB, 50 * MiB];
    const files: RandomFile[] = [];
    for (let i = 0; i < 20; i += 1) files.push(await stack.origin.randomFile(`batch-${i}.bin`, sizes[i % sizes.length] ?? 0));
    const ids = await Promise.all(files.map((file, i) => stack.ferry.enqueue({ url: stack.origin.route(`/batch/${i}/file-${i}.bin`, serveFile(file)) })));

    const finals = await Promise.all(ids.map((id) => stack.ferry.waitFor(id, ['completed', 'failed'], 90_000)));
    for (const [i, final] of finals.entries()) {
      const file = files[i]!;
      expect(final.state, JSON.stringify(final.error)).toBe('completed');
      expect(final.result?.bytes).toBe(file.size);
      expect(final.result?.sha256).toBe(file.sha256);
      expect(final.result?.filename).toBe(`file-${i}.bin`);
      expect(await sha256File(pathOf(final.result!.location))).toBe(file.sha256);
      expect(final.progress).toEqual({ receivedBytes: file.size, totalBytes: file.size });
      expect(final.attempts).toEqual({ made: 1, max: 5 });
    }
    expect(await listFiles(stack.ferry.filesOf())).toHaveLength(20);
  });
});

describe('when the origin answers 503 twice, then 200', () => {
  it('retries and completes on the third attempt', async () => {
    const file = await stack.origin.randomFile('flaky.bin', 64 * 1024);
    const url = stack.origin.route('/flaky.bin', status(503), status(503), serveFile(file));
    const id = await stack.ferry.enqueue({ url });

    const final = await stack.ferry.waitFor(id);

    expect(final.state).toBe('completed');
    expect(final.attempts.made).toBe(3);
    expect(final.result?.sha256).toBe(file.sha256);
    expect(stack.origin.requests('/flaky.bin')).toHaveLength(3);
  });
});

describe('when the origin answers 404', () => {
  it('fails after exactly one attempt with a permanent, coded error', async () => {
    const url = stack.origin.route('/missing.bin', status(404));
    const id = await stack.ferry.enqueue({ url });

    const final = await stack.ferry.waitFor(id);

    expect(final.state).toBe('failed');
    expect(final.attempts.made).toBe(1);
    expect(final.error).toEqual({
      code: 'FERRY_ERR_ORIGIN_REJECTED',
      message: `origin answered 404 Not Found for ${url}`,
      retryable: false,
    });
    expect(stack.origin.requests('/missing.bin')).toHaveLength(1);
    expect(await listFiles(stack.ferry.filesOf())).not.toContain('missing.bin');
  });
});

describe('when the origin promises 10 MiB and closes the connection after 3 MiB', () => {
  it('retries, stores the complete file, and never shows a partial file under the final name', async () => {
    const file = await stack.origin.randomFile('cut.bin', 10 * MiB);
    const url = stack.origin.route('/cut/cut.bin', serveFile(file, { closeAfterBytes: 3 * MiB }), serveFile(file, { bytesPerSecond: 20 * MiB }));
    const finalPath = path.join(stack.ferry.filesOf(), 'cut.bin');
    const wrongSizesSeen: number[] = [];
    let watching = true;
    const watcher = (async () => {
      while (watching) {
        const size = await stat(finalPath).then(
          (s) => s.size,
          () => undefined,
        );
        if (size !== undefined && size !== file.size) wrongSizesSeen.push(size);
        await new Promise((resolve) => setTimeout(resolve, 2));
      }
    })();

    const id = await stack.ferry.enqueue({ url });
    const final = await stack.ferry.waitFor(id);
    watching = false;
    await watcher;

    expect(final.state).toBe('completed');
    expect(final.attempts.made).toBe(2);
    expect(final.result?.location).toBe(`file://${finalPath}`);
    expect(await sha256File(finalPath)).toBe(file.sha256);
    expect(wrongSizesSeen).toEqual([]);
    expect(stack.origin.requests('/cut/cut.bin')).toHaveLength(2);
  });
});

describe('when the origin answers 429 with Retry-After: 2', () => {
  it('starts the next attempt no earlier than 2 s later', async () => {
    const file = await stack.origin.randomFile('limited.bin', 1024);
    const url = stack.origin.route('/limited.bin', status(429, { 'retry-after': '2' }), serveFile(file));
    const id = await stack.ferry.enqueue({ url });

    const final = await stack.ferry.waitFor(id);

    expect(final.state).toBe('completed');
    const [first, second] = stack.origin.requests('/limited.bin');
    expect(second!.at - first!.at).toBeGreaterThanOrEqual(2000);
    // Not the 5-minute cap: the delay follows what the origin asked (plus jitter and queue latency).
    expect(second!.at - first!.at).toBeLessThan(8000);
  });

  it('reports the job as delayed with the rate-limit error while it waits', async () => {
    const url = stack.origin.route('/limited-long.bin', status(429, { 'retry-after': '30' }));
    const id = await stack.ferry.enqueue({ url });

    const waiting = await stack.ferry.waitFor(id, ['delayed']);

    expect(waiting.error).toMatchObject({ code: 'FERRY_ERR_ORIGIN_UNAVAILABLE', retryable: true });
    expect(waiting.error?.message).toContain('429 Too Many Requests');
    expect(waiting.attempts.made).toBe(1);
  });
});

describe('when a download keeps failing with a retryable error', () => {
  it('gives up after the configured attempts and says the error was retryable', async () => {
    const url = stack.origin.route('/always-500.bin', status(500));
    const id = await stack.ferry.enqueue({ url });

    const final = await stack.ferry.waitFor(id);

    expect(final.state).toBe('failed');
    expect(final.attempts).toEqual({ made: 5, max: 5 });
    expect(final.error).toMatchObject({ code: 'FERRY_ERR_ORIGIN_UNAVAILABLE', retryable: true });
    expect(stack.origin.requests('/always-500.bin')).toHaveLength(5);
  });
});

describe('when the request carries a checksum', () => {
  it('completes when the bytes match it', async () => {
    const file = await stack.origin.randomFile('checked.bin', 4096);
    const id = await stack.ferry.enqueue({
      url: stack.origin.route('/checked.bin', serveFile(file)),
      checksum: { algorithm: 'sha256', value: file.sha256.toUpperCase() },
    });
    const final = await stack.ferry.waitFor(id);
    expect(final.state).toBe('completed');
    expect(final.result?.sha256).toBe(file.sha256);
  });

  it('fails permanently, after one attempt, and publishes nothing when they do not', async () => {
    const file = await stack.origin.randomFile('tampered.bin', 4096);
    const id = await stack.ferry.enqueue({
      url: stack.origin.route('/tampered.bin', serveFile(file)),
      checksum: { algorithm: 'sha256', value: '0'.repeat(64) },
    });
    const final = await stack.ferry.waitFor(id);
    expect(final.state).toBe('failed');
    expect(final.attempts.made).toBe(1);
    expect(final.error?.code).toBe('FERRY_ERR_CHECKSUM_MISMATCH');
    expect(final.error?.message).toContain(file.sha256);
    expect(await listFiles(stack.ferry.filesOf())).not.toContain('tampered.bin');
  });
});

describe('when two downloads want the same file name', () => {
  it('keeps both, the second as "name (1).ext"', async () => {
    const a = await stack.origin.randomFile('same-a.bin', 1000);
    const b = await stack.origin.randomFile('same-b.bin', 2000);
    const first = await stack.ferry.waitFor(await stack.ferry.enqueue({ url: stack.origin.route('/a/report.pdf', serveFile(a)) }));
    const second = await stack.ferry.waitFor(await stack.ferry.enqueue({ url: stack.origin.route('/b/report.pdf', serveFile(b)) }));
    expect(first.result?.filename).toBe('report.pdf');
    expect(second.result?.filename).toBe('report (1).pdf');
    expect(await sha256File(pathOf(first.result!.location))).toBe(a.sha256);
    expect(await sha256File(pathOf(second.result!.location))).toBe(b.sha256);
  });
});

describe('when the origin redirects', () => {
  it('follows up to five hops', async () => {
    const file = await stack.origin.randomFile('moved.bin', 2048);
    const target = stack.origin.route('/moved/final.bin', serveFile(file));
    let next = target;
    for (let hop = 5; hop >= 1; hop -= 1) next = stack.origin.route(`/hop-${hop}`, status(302, { location: next }));
    const final = await stack.ferry.waitFor(await stack.ferry.enqueue({ url: next }));
    expect(final.state).toBe('completed');
    expect(final.result?.filename).toBe('final.bin');
    expect(final.result?.sha256).toBe(file.sha256);
  });

  const callerHeaders = {
    Authorization: 'Bearer s3cr3t',
    Cookie: 'session=s3cr3t',
    'X-Api-Key': 'key-s3cr3t',
    'Private-Token': 'token-s3cr3t',
    'X-Trace-Id': 'trace-7',
  };
  const sentOf = (origin: TestOrigin, pathname: string) => origin.requests(pathname)[0]?.headers ?? {};

  it("sends none of the caller's headers to another origin but those crossOriginHeaders names", async () => {
    const other = await TestOrigin.start();
    try {
      const file = await stack.origin.randomFile('elsewhere.bin', 2048);
      const target = other.route('/elsewhere.bin', serveFile(file));
      const url = stack.origin.route('/to-elsewhere', status(302, { location: target }));
      const final = await stack.ferry.waitFor(await stack.ferry.enqueue({ url, headers: callerHeaders, crossOriginHeaders: ['x-trace-id'] }));

      expect(final.state).toBe('completed');
      expect(sentOf(stack.origin, '/to-elsewhere')).toMatchObject({
        'x-api-key': 'key-s3cr3t',
        'private-token': 'token-s3cr3t',
        authorization: 'Bearer s3cr3t',
      });
      const forwarded = sentOf(other, '/elsewhere.bin');
      expect(forwarded['x-trace-id']).toBe('trace-7');
      for (const name of ['authorization', 'cookie', 'x-api-key', 'private-token']) expect(forwarded[name], name).toBeUndefined();
      expect(JSON.stringify(forwarded)).not.toContain('s3cr3t');
    } finally {
      await other.close();
    }
  });

  it('keeps every header on a redirect within the same origin', async () => {
    const file = await stack.origin.randomFile('nearby.bin', 2048);
    const target = stack.origin.route('/nearby.bin', serveFile(file));
    const url = stack.origin.route('/to-nearby', status(307, { location: target }));
    const final = await stack.ferry.waitFor(await stack.ferry.enqueue({ url, headers: callerHeaders }));

    expect(final.state).toBe('completed');
    expect(sentOf(stack.origin, '/nearby.bin')).toMatchObject(
      Object.fromEntries(Object.entries(callerHeaders).map(([name, value]) => [name.toLowerCase(), value])),
    );
  });

  it('fails permanently on a redirect loop', async () => {
    const url = stack.origin.route('/loop', status(301, { location: '/loop' }));
    const final = await stack.ferry.waitFor(await stack.ferry.enqueue({ url }));
    expect(final.state).toBe('failed');
    expect(final.attempts.made).toBe(1);
    expect(final.error?.code).toBe('FERRY_ERR_TOO_MANY_REDIRECTS');
  });
});

describe('when the request carries headers', () => {
  it('sends them to the origin but never shows their values in the API', async () => {
    const file = await stack.origin.randomFile('private.bin', 100);
    const url = stack.origin.route('/private.bin', serveFile(file));
    const id = await stack.ferry.enqueue({ url, headers: { Authorization: 'Bearer s3cr3t-token' } });
    const final = await stack.ferry.waitFor(id);
    expect(final.state).toBe('completed');
    expect(stack.origin.requests('/private.bin')[0]?.headers['authorization']).toBe('Bearer s3cr3t-token');
    expect(stack.origin.requests('/private.bin')[0]?.headers['accept-encoding']).toBe('identity');
    expect(JSON.stringify(final)).not.toContain('s3cr3t');
  });
});
