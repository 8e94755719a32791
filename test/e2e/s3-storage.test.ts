import { createHash } from 'node:crypto';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { createServer } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { createStorage, loadConfig } from '@ferry/core';
import { S3Storage } from '@ferry/storage/s3';
import { API_KEY, bearer, OTHER_API_KEY } from '../support/ferry.js';
import { sha256File } from '../support/files.js';
import { bodyBytesSent, serveFile, type RandomFile } from '../support/origin.js';
import { awsCli, ferryS3Env, KEY_PREFIX, listFileKeys, listKeys, openUploads, sha256Object } from '../support/s3.js';
import { useStack } from '../support/stack.js';
import { checkpointAtLeast, receivedAtLeast, takeLockFrom, until } from '../support/wait.js';

const MiB = 1024 * 1024;
const PARTS = `${KEY_PREFIX}.parts/`;

const stack = useStack({ s3: true, eachTest: true });
const sha256 = (bytes: Buffer) => createHash('sha256').update(bytes).digest('hex');

/** Nothing of the download is left in the bucket: no object, no part marker, no open multipart upload. */
async function expectNothingStored() {
  expect(await listKeys(stack.s3)).toEqual([]);
  expect(await openUploads(stack.s3)).toEqual([]);
}

describe('when many files of different sizes are stored in S3', () => {
  it('publishes every one under s3://bucket/key with the bytes of the origin, as another client reads them back', async () => {
    const { ferry } = stack;
    await ferry.startWorker();
    // 0 and 1 byte go up in one PUT; 12 MiB is three 5 MiB parts.
    const sizes = [0, 1, MiB, 12 * MiB];
    const files: RandomFile[] = [];
    for (let i = 0; i < 20; i += 1) files.push(await stack.origin.randomFile(`s3-batch-${i}.bin`, sizes[i % sizes.length] ?? 0));
    const ids = await Promise.all(files.map((file, i) => ferry.enqueue({ url: stack.origin.route(`/s3-batch/${i}/file-${i}.bin`, serveFile(file)) })));

    const finals = await Promise.all(ids.map((id) => ferry.waitFor(id, ['completed', 'failed'], 90_000)));
    const copy = await mkdtemp(path.join(os.tmpdir(), 'ferry-s3-copy-'));
    try {
      // The Debian awscli, not Ferry nor the SDK it uses, reads the bucket back.
      await awsCli(stack.s3, ['s3', 'cp', '--recursive', '--quiet', `s3://${stack.s3.bucket}/${KEY_PREFIX}test/`, copy]);
      for (const [i, final] of finals.entries()) {
        const file = files[i]!;
        expect(final.state, JSON.stringify(final.error)).toBe('completed');
        expect(final.result?.location).toBe(`s3://${stack.s3.bucket}/${KEY_PREFIX}test/file-${i}.bin`);
        expect(final.result?.sha256).toBe(file.sha256);
        expect(await sha256File(path.join(copy, `file-${i}.bin`)), `file-${i}.bin read back by awscli`).toBe(file.sha256);
      }
    } finally {
      await rm(copy, { recursive: true, force: true });
    }
    expect(await listFileKeys(stack.s3)).toHaveLength(20);
    expect(await openUploads(stack.s3)).toEqual([]);
  });
});

describe('when a worker is killed mid-upload', () => {
  it('lets another worker finish the same multipart upload, the object intact and the origin asked for little more than the file', async () => {
    const { ferry } = stack;
    const doomed = await ferry.startWorker();
    const file = await stack.origin.randomFile('s3-handover.bin', 30 * MiB);
    const route = '/s3-handover.bin';
    // Slow until the kill, so the bytes received past the last uploaded part stay few; quick after it.
    const url = stack.origin.route(route, serveFile(file, { etag: '"s3h"', bytesPerSecond: 2 * MiB }), serveFile(file, { etag: '"s3h"' }));
    const id = await ferry.enqueue({ url });
    // Killed just after a part is uploaded: the bytes of a part not yet uploaded are the ones a kill loses.
    await checkpointAtLeast(ferry, id, 10 * MiB);
    doomed.child.kill('SIGKILL');
    await ferry.startWorker();

    const final = await ferry.waitFor(id, ['completed', 'failed'], 60_000);

    expect(final.state, JSON.stringify(final.error)).toBe('completed');
    expect(await sha256Object(stack.s3, final.result!.location)).toBe(file.sha256);
    const [, resumed] = stack.origin.requests(route);
    expect(Number(/^bytes=(\d+)-$/.exec(String(resumed?.headers.range))?.[1])).toBeGreaterThanOrEqual(10 * MiB);
    const served = (bodyBytesSent.get(route) ?? []).reduce((sum, bytes) => sum + bytes, 0);
    expect(served, `the origin served ${(served / file.size).toFixed(3)}× the file`).toBeLessThanOrEqual(1.05 * file.size);
    expect(await listFileKeys(stack.s3)).toEqual([`${KEY_PREFIX}test/s3-handover.bin`]);
    expect(await openUploads(stack.s3)).toEqual([]);
  });
});

describe('when a worker learns mid-upload that its lock was taken', () => {
  it('leaves the multipart upload to the job: the next run continues it, with no attempt lost', async () => {
    const { ferry } = stack;
    const robbed = await ferry.startWorker({ FERRY_LOG_LEVEL: 'info' });
    const file = await stack.origin.randomFile('s3-robbed.bin', 24 * MiB);
    const route = '/s3-robbed.bin';
    const url = stack.origin.route(route, serveFile(file, { etag: '"s3r"', bytesPerSecond: 2 * MiB }), serveFile(file, { etag: '"s3r"' }));
    const id = await ferry.enqueue({ url });
    await checkpointAtLeast(ferry, id, 10 * MiB);

    await takeLockFrom(robbed, ferry, stack.redis.url, id);

    const final = await ferry.waitFor(id, ['completed', 'failed'], 60_000);
    expect(final.state, JSON.stringify(final.error)).toBe('completed');
    expect(await sha256Object(stack.s3, final.result!.location)).toBe(file.sha256);
    // One run after the robbed one, continuing the upload: had the robbed worker aborted it, that run would fail and a third start over.
    const requests = stack.origin.requests(route);
    expect(requests).toHaveLength(2);
    expect(Number(/^bytes=(\d+)-$/.exec(String(requests[1]?.headers.range))?.[1])).toBeGreaterThanOrEqual(10 * MiB);
    expect(await listFileKeys(stack.s3)).toEqual([`${KEY_PREFIX}test/s3-robbed.bin`]);
    expect(await openUploads(stack.s3)).toEqual([]);
  });
});

describe('when a download into S3 is cancelled mid-upload', () => {
  it('aborts its multipart upload and stores no object', async () => {
    const { ferry } = stack;
    await ferry.startWorker();
    const file = await stack.origin.randomFile('s3-cancelled.bin', 24 * MiB);
    const id = await ferry.enqueue({ url: stack.origin.route('/s3-cancelled.bin', serveFile(file, { etag: '"s3c"', bytesPerSecond: 8 * MiB })) });
    await receivedAtLeast(ferry, id, 7 * MiB);
    expect(await openUploads(stack.s3)).toHaveLength(1);

    expect((await ferry.request('DELETE', `/v1/downloads/${id}`)).status).toBe(200);
    const final = await ferry.waitFor(id, ['cancelled']);

    expect(final.error?.code).toBe('FERRY_ERR_CANCELLED');
    await until(async () => (await listKeys(stack.s3)).length === 0, 'the part marker to go');
    await expectNothingStored();
  });
});

describe('when a download into S3 fails for good', () => {
  it('stores nothing on a checksum mismatch, nor for a body over maxBytes', async () => {
    const { ferry } = stack;
    await ferry.startWorker();
    const file = await stack.origin.randomFile('s3-wrong.bin', 6 * MiB);
    const url = stack.origin.route('/s3-wrong.bin', serveFile(file, { etag: '"s3w"' }));

    const mismatch = await ferry.waitFor(await ferry.enqueue({ url, checksum: { algorithm: 'sha256', value: '0'.repeat(64) } }));
    const tooLarge = await ferry.waitFor(await ferry.enqueue({ url, maxBytes: 5 * MiB + 1 }));

    expect(mismatch.error?.code).toBe('FERRY_ERR_CHECKSUM_MISMATCH');
    expect(tooLarge.error?.code).toBe('FERRY_ERR_TOO_LARGE');
    await expectNothingStored();
  });
});

describe('the part janitor on S3', () => {
  it('aborts a multipart upload whose job is gone', async () => {
    const { ferry } = stack;
    // An upload a dead worker left: one part uploaded, kept, for a job Redis does not know.
    const storage = await createStorage(loadConfig(ferryS3Env(stack.s3)));
    const part = await storage.openPart('job-that-died-with-its-worker', 1);
    part.write(Buffer.alloc(6 * MiB, 1));
    await part.flush();
    expect(await part.keep()).toBe(6 * MiB);
    expect(await openUploads(stack.s3)).toHaveLength(1);
    expect(await listKeys(stack.s3, PARTS)).toHaveLength(1);

    await ferry.startWorker();

    await until(async () => (await openUploads(stack.s3)).length === 0, 'the janitor to abort the upload', 10_000);
    await until(async () => (await listKeys(stack.s3)).length === 0, 'the janitor to remove the part marker', 10_000);
    if (storage instanceof S3Storage) storage.client.destroy();
  });
});

describe('GET /v1/downloads/{id}/content from S3', () => {
  it('streams the object, and a Range of it', async () => {
    const { ferry } = stack;
    await ferry.startWorker();
    const file = await stack.origin.randomFile('s3-served.bin', 7 * MiB + 3);
    const final = await ferry.waitFor(await ferry.enqueue({ url: stack.origin.route('/s3-served.bin', serveFile(file)) }));
    const content = `${ferry.baseUrl}/v1/downloads/${final.id}/content`;

    const whole = await fetch(content, { headers: bearer(API_KEY) });
    expect(whole.status).toBe(200);
    expect(whole.headers.get('content-length')).toBe(String(file.size));
    expect(sha256(Buffer.from(await whole.arrayBuffer()))).toBe(file.sha256);

    const start = 5 * MiB - 10;
    const ranged = await fetch(content, { headers: { ...bearer(API_KEY), range: `bytes=${start}-${start + 99}` } });
    expect(ranged.status).toBe(206);
    expect(ranged.headers.get('content-range')).toBe(`bytes ${start}-${start + 99}/${file.size}`);
    expect(Buffer.from(await ranged.arrayBuffer())).toEqual((await readFile(file.path)).subarray(start, start + 100));
  });
});

describe('two API keys storing in one bucket', () => {
  it('keep their objects apart: the same name twice is two objects, and neither key reads the other one', async () => {
    const { ferry } = stack;
    await ferry.startWorker();
    const mine = await stack.origin.randomFile('s3-mine.bin', 1000);
    const theirs = await stack.origin.randomFile('s3-theirs.bin', 2000);
    const myFinal = await ferry.waitFor(await ferry.enqueue({ url: stack.origin.route('/mine/shared.bin', serveFile(mine)) }));
    const theirId = await ferry.enqueue({ url: stack.origin.route('/theirs/shared.bin', serveFile(theirs)), onConflict: 'overwrite' }, OTHER_API_KEY);
    const theirFinal = await ferry.waitFor(theirId, undefined, undefined, OTHER_API_KEY);

    expect(myFinal.result?.filename).toBe('shared.bin');
    expect(theirFinal.result?.filename).toBe('shared.bin');
    expect(await listFileKeys(stack.s3)).toEqual([`${KEY_PREFIX}other/shared.bin`, `${KEY_PREFIX}test/shared.bin`]);
    expect(await sha256Object(stack.s3, myFinal.result!.location)).toBe(mine.sha256);
    expect(await sha256Object(stack.s3, theirFinal.result!.location)).toBe(theirs.sha256);
    expect((await fetch(`${ferry.baseUrl}/v1/downloads/${theirId}/content`, { headers: bearer(API_KEY) })).status).toBe(404);
    const own = await fetch(`${ferry.baseUrl}/v1/downloads/${theirId}/content`, { headers: bearer(OTHER_API_KEY) });
    expect(sha256(Buffer.from(await own.arrayBuffer()))).toBe(theirs.sha256);
  });
});

describe('a worker that cannot use its bucket', () => {
  const startFails = async (env: Record<string, string>): Promise<string> => {
    const failed = await stack.ferry.startWorker(env).then(
      () => undefined,
      (err: unknown) => (err as Error).message,
    );
    expect(failed, 'the worker exits before it is ready').toBeDefined();
    return failed ?? '';
  };

  it('exits at start-up saying the bucket does not exist', async () => {
    expect(await startFails({ FERRY_S3_BUCKET: 'no-such-bucket' })).toContain('FERRY_S3_BUCKET "no-such-bucket" does not exist');
  });

  it('exits at start-up saying access was denied when the credentials are wrong', async () => {
    expect(await startFails({ AWS_ACCESS_KEY_ID: 'WRONG', AWS_SECRET_ACCESS_KEY: 'WRONG' })).toMatch(
      /access to FERRY_S3_BUCKET "ferry-test" .* was denied \(403\)/,
    );
  });

  it('exits at start-up saying the server cannot be reached when nothing listens at the endpoint', async () => {
    // A port that was free a moment ago: nothing listens there.
    const closed = await new Promise<number>((resolve) => {
      const server = createServer().listen(0, '127.0.0.1', () => {
        const { port } = server.address() as { port: number };
        server.close(() => resolve(port));
      });
    });
    expect(await startFails({ FERRY_S3_ENDPOINT: `http://127.0.0.1:${closed}` })).toContain(
      `cannot reach the S3 server at http://127.0.0.1:${closed} (ECONNREFUSED): check FERRY_S3_ENDPOINT`,
    );
  });
});
