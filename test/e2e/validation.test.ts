import { connect } from 'node:net';
import { describe, expect, it } from 'vitest';
import { useStack } from '../support/stack.js';

const stack = useStack();

interface ErrorBody {
  code: string;
  message: string;
  issues?: Array<{ path: string; message: string }>;
}

const BAD_REQUESTS: Array<[string, unknown, RegExp]> = [
  ['a body that is not JSON', '{"url": "http://example.com/a",', /not valid JSON/],
  ['an empty JSON body', '', /body is empty/],
  ['a JSON array', [], /must be a JSON object/],
  ['a missing url', { filename: 'a.bin' }, /url is required/],
  ['an ftp:// url', { url: 'ftp://example.com/a.bin' }, /url must be an absolute http:\/\/ or https:\/\/ URL/],
  ['a relative url', { url: '/a.bin' }, /url must be an absolute http/],
  ['a 10 KB url', { url: `https://example.com/${'a'.repeat(10_000)}` }, /url must be at most 2048 characters/],
  [
    'an unknown field',
    { url: 'https://example.com/a', speed: 1 },
    /speed is not a known field: remove it; allowed fields are url, callbackUrl, idempotencyKey, filename, headers, crossOriginHeaders, checksum, maxBytes, timeouts, priority, delayMs, notBefore, onConflict, segments/,
  ],
  ['a url of the wrong type', { url: 42 }, /url must be a string/],
  ['segments of 0', { url: 'https://example.com/a', segments: 0 }, /segments must be at least 1 \(one connection\)/],
  ['segments over 16', { url: 'https://example.com/a', segments: 17 }, /segments must be at most 16/],
  ['headers of the wrong type', { url: 'https://example.com/a', headers: 'x' }, /headers must be of type record/],
  [
    'crossOriginHeaders naming a header not sent',
    { url: 'https://example.com/a', headers: { 'X-Api-Key': 'k' }, crossOriginHeaders: ['X-Trace-Id'] },
    /crossOriginHeaders\.0 names X-Trace-Id, which is not one of headers/,
  ],
  ['a filename with a path', { url: 'https://example.com/a', filename: '../etc/passwd' }, /filename must be a bare file name/],
  ['a filename that is a device name', { url: 'https://example.com/a', filename: 'CON.txt' }, /filename must not be a reserved device name/],
  ['an engine-owned header', { url: 'https://example.com/a', headers: { Host: 'evil' } }, /headers\.Host is set by Ferry itself/],
  [
    'a header value with CRLF',
    { url: 'https://example.com/a', headers: { 'X-A': 'a\r\nX-B: b' } },
    /headers\.X-A must not contain control characters: found U\+000D at index 1/,
  ],
  ...(
    [
      ['VT', '\u000b'],
      ['FF', '\u000c'],
      ['ESC', '\u001b'],
      ['DEL', '\u007f'],
      ['a C1 control (NEL)', '\u0085'],
    ] as const
  ).map(([what, char]): [string, unknown, RegExp] => [
    `a header value with ${what}`,
    { url: 'https://example.com/a', headers: { 'X-Token': `a${char}b` } },
    new RegExp(`headers\\.X-Token must not contain control characters: found U\\+${char.charCodeAt(0).toString(16).toUpperCase().padStart(4, '0')} at index 1`),
  ]),
  [
    'a header value with U+2028',
    { url: 'https://example.com/a', headers: { 'X-Token': 'a\u2028b' } },
    /headers\.X-Token must not contain characters beyond U\+00FF: found U\+2028 at index 1/,
  ],
  [
    'a header value with U+2029',
    { url: 'https://example.com/a', headers: { 'X-Token': 'a\u2029b' } },
    /headers\.X-Token must not contain characters beyond U\+00FF: found U\+2029 at index 1/,
  ],
  ['a header name that is not a token', { url: 'https://example.com/a', headers: { 'X Token': 'a' } }, /headers\.X Token is not a valid header name/],
  [
    'a checksum with an unknown algorithm',
    { url: 'https://example.com/a', checksum: { algorithm: 'crc32', value: 'abcd' } },
    /checksum\.algorithm must be one of sha256, sha512, sha1, md5/,
  ],
  [
    'a checksum of the wrong length',
    { url: 'https://example.com/a', checksum: { algorithm: 'sha256', value: 'abcd' } },
    /checksum\.value must be a sha256 digest: 64 hexadecimal characters or 32 bytes in base64/,
  ],
  [
    'an md5 checksum of sha256 length',
    { url: 'https://example.com/a', checksum: { algorithm: 'md5', value: 'a'.repeat(64) } },
    /checksum\.value must be a md5 digest: 32 hexadecimal/,
  ],
  ['a maxBytes of zero', { url: 'https://example.com/a', maxBytes: 0 }, /maxBytes must be at least 1/],
  ['a fractional maxBytes', { url: 'https://example.com/a', maxBytes: 1.5 }, /maxBytes must be a whole number of bytes/],
  [
    'a timeout over the server cap',
    { url: 'https://example.com/a', timeouts: { connectMs: 7_200_000 } },
    /timeouts\.connectMs must be at most 3600000 \(the server's FERRY_MAX_TIMEOUT_MS\)/,
  ],
  ['an unknown timeout', { url: 'https://example.com/a', timeouts: { totalMs: 5 } }, /timeouts\.totalMs is not a known field/],
  ['an unknown conflict policy', { url: 'https://example.com/a', onConflict: 'merge' }, /onConflict must be 'rename', 'overwrite' or 'fail'/],
];

describe('when a download request is invalid', () => {
  it.each(BAD_REQUESTS)('answers 400 FERRY_ERR_VALIDATION for %s and enqueues nothing', async (_what, body, message) => {
    const response = await stack.ferry.request<ErrorBody>('POST', '/v1/downloads', body);

    expect(response.status).toBe(400);
    expect(response.body.code).toBe('FERRY_ERR_VALIDATION');
    expect(response.body.message).toMatch(message);
    const counts = await stack.ferry.queue.getJobCounts();
    expect(Object.values(counts).reduce((a, b) => a + b, 0)).toBe(0);
  });

  it('lists every problem of the body, not only the first', async () => {
    const response = await stack.ferry.request<ErrorBody>('POST', '/v1/downloads', { url: 'ftp://x', filename: '..', extra: true });
    expect(response.status).toBe(400);
    expect(response.body.issues?.map((issue) => issue.path).sort()).toEqual(['extra', 'filename', 'url']);
  });

  it.each([
    ['an unfinished body', '{"url": "http://example.com/a",', 'expected double-quoted property name at line 1, column 32 (offset 31), where the body ends'],
    [
      'a body cut inside a value',
      '{"url": "http://example.com/a", "priority": ',
      'it ends before the JSON does, at line 1, column 45 (offset 44), where the body ends',
    ],
    ['a trailing comma', '{\n  "url": "http://example.com/a",\n}', 'expected double-quoted property name at line 3, column 1 (offset 35)'],
    ['a misspelt literal', '{\n  "url": "http://example.com/a",\n  "x": tru\n}', 'unexpected "\\n" at line 3, column 11 (offset 45)'],
    ['text after the object', '{"url": "http://example.com/a"} x', 'unexpected "x" at line 1, column 33 (offset 32)'],
    ['a second value after the object', '{"url": "http://example.com/a"}{}', 'unexpected "{" at line 1, column 32 (offset 31)'],
    ['a bad escape', '{"url": "http://example.com/\\q"}', 'bad escaped character at line 1, column 30 (offset 29)'],
    ['a __proto__ key', '{"url": "http://example.com/a", "__proto__": {"x": 1}}', 'it holds a __proto__ or constructor.prototype key, which the API refuses'],
  ])('says in one sentence why and where %s is not JSON', async (_what, body, where) => {
    const response = await stack.ferry.request<ErrorBody>('POST', '/v1/downloads', body);
    expect(response.status).toBe(400);
    expect(response.body).toEqual({ code: 'FERRY_ERR_VALIDATION', message: `the body is not valid JSON: ${where}` });
  });

  it('answers 415 with a hint when the body is not sent as JSON', async () => {
    const response = await stack.ferry.request<ErrorBody>('POST', '/v1/downloads', 'url=https://example.com', {
      'content-type': 'application/x-www-form-urlencoded',
    });
    expect(response.status).toBe(415);
    expect(response.body).toEqual({ code: 'FERRY_ERR_UNSUPPORTED_MEDIA_TYPE', message: 'send the body as JSON with Content-Type: application/json' });
  });
});

describe('when the body is larger than FERRY_API_BODY_LIMIT_BYTES', () => {
  it('answers 413 to a 1 MB body with a code and enqueues nothing', async () => {
    const response = await stack.ferry.request<ErrorBody>('POST', '/v1/downloads', { url: 'https://example.com/a', filename: 'x'.repeat(1_000_000) });
    expect(response.status).toBe(413);
    expect(response.body.code).toBe('FERRY_ERR_PAYLOAD_TOO_LARGE');
    expect(await stack.ferry.queue.count()).toBe(0);
  });
});

describe('when a download id is unknown', () => {
  it('answers 404 with a code', async () => {
    const response = await stack.ferry.request<ErrorBody>('GET', '/v1/downloads/00000000-0000-0000-0000-000000000000');
    expect(response.status).toBe(404);
    expect(response.body.code).toBe('FERRY_ERR_NOT_FOUND');
  });
});

describe('when a download is accepted', () => {
  it('answers 202 with the id, the state and a Location to poll', async () => {
    const response = await stack.ferry.request<{ id: string; state: string; url: string }>('POST', '/v1/downloads', { url: 'https://example.com/a.bin' });
    expect(response.status).toBe(202);
    expect(response.body).toEqual({ id: expect.stringMatching(/^[0-9a-f-]{36}$/), state: 'queued', url: 'https://example.com/a.bin' });
    expect(response.headers.get('location')).toBe(`/v1/downloads/${response.body.id}`);
    const status = await stack.ferry.status(response.body.id);
    expect(status).toMatchObject({ state: 'queued', attempts: { made: 0, max: 5 }, result: null, error: null, finishedAt: null });
    await stack.ferry.queue.obliterate({ force: true });
  });
});

describe('health endpoints', () => {
  it('/healthz and /readyz answer 200 while Redis is up', async () => {
    expect((await stack.ferry.request('GET', '/healthz')).status).toBe(200);
    expect((await stack.ferry.request('GET', '/readyz')).body).toEqual({ status: 'ready' });
  });
});

describe('a request path with a broken percent escape', () => {
  it('is answered 400 with FERRY_ERR_VALIDATION and how to fix it, not a framework code', async () => {
    for (const path of ['/v1/downloads/%ZZ', '/v1/batches/%ff', '/%']) {
      const response = await stack.ferry.request<ErrorBody>('GET', path);
      expect(response.status, path).toBe(400);
      expect(response.body.code, path).toBe('FERRY_ERR_VALIDATION');
      expect(response.body.message, path).toContain('percent-encode');
    }
  });
});

describe('a request the HTTP parser refuses before any route sees it', () => {
  /** Sends `head` as it is on a new connection and reads the whole answer, which ends with the connection. */
  const raw = (baseUrl: string, head: string) =>
    new Promise<{ status: number; body: ErrorBody }>((resolve, reject) => {
      const { hostname, port } = new URL(baseUrl);
      let answer = '';
      const socket = connect(Number(port), hostname, () => socket.end(head));
      socket.on('data', (chunk: Buffer) => (answer += chunk.toString()));
      socket.on('error', reject);
      socket.on('close', () => {
        const [statusLine = '', ...rest] = answer.split('\r\n');
        resolve({ status: Number(statusLine.split(' ')[1]), body: JSON.parse(rest.slice(rest.indexOf('') + 1).join('\r\n')) as ErrorBody });
      });
    });

  it('answers headers over the size limit with 431, FERRY_ERR_HEADERS_TOO_LARGE and how to fix it, from a real API process', async () => {
    const api = await stack.ferry.startApi();
    const response = await raw(api.baseUrl, `GET /healthz HTTP/1.1\r\nHost: ferry\r\nCookie: ${'a'.repeat(20_000)}\r\n\r\n`);
    expect(response.status).toBe(431);
    expect(response.body.code).toBe('FERRY_ERR_HEADERS_TOO_LARGE');
    expect(response.body.message).toMatch(/headers .* larger than the API accepts \(16384 bytes in all\).*send fewer or shorter headers/);
  });

  it('answers a request that is not HTTP with 400, FERRY_ERR_VALIDATION and what the parser found', async () => {
    const response = await raw(stack.ferry.baseUrl, 'NOT HTTP AT ALL\r\n\r\n');
    expect(response.status).toBe(400);
    expect(response.body.code).toBe('FERRY_ERR_VALIDATION');
    expect(response.body.message).toMatch(/not a valid HTTP\/1\.1 request \(HPE_\w+\)/);
  });
});

describe('when Redis goes down', () => {
  it('answers 503 quickly instead of hanging, and /readyz says so', async () => {
    await stack.redis.stop();
    const started = Date.now();
    const response = await stack.ferry.request<ErrorBody>('POST', '/v1/downloads', { url: 'https://example.com/a.bin' });
    expect(response.status).toBe(503);
    expect(response.body.code).toBe('FERRY_ERR_REDIS_UNAVAILABLE');
    expect(response.headers.get('retry-after')).toBe('5');
    expect(Date.now() - started).toBeLessThan(5000);
    expect((await stack.ferry.request('GET', '/readyz')).status).toBe(503);
    expect((await stack.ferry.request('GET', '/healthz')).status).toBe(200);
  });
});
