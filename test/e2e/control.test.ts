import path from 'node:path';
import { type DownloadAccepted } from '@ferry/contract';
import { PARTS_DIRNAME } from '@ferry/storage';
import { describe, expect, it } from 'vitest';
import { OTHER_API_KEY, bearer } from '../support/ferry.js';
import { listFiles, pathOf, sha256File } from '../support/files.js';
import { bodyBytesSent, serveFile } from '../support/origin.js';
import { useStack } from '../support/stack.js';
import { receivedAtLeast } from '../support/wait.js';

const MiB = 1024 * 1024;

const stack = useStack({ eachTest: true });

const parts = (storageDir: string) => listFiles(path.join(storageDir, PARTS_DIRNAME));

describe('cancel', () => {
  it('stops an active 200 MiB download in a worker process within a second, removes its part and ends cancelled', async () => {
    const { ferry } = stack;
    const worker = await ferry.startWorker({ FERRY_LOG_LEVEL: 'info' });
    const file = await stack.origin.randomFile('big.bin', 200 * MiB);
    const url = stack.origin.route('/big.bin', serveFile(file, { etag: '"b1"', bytesPerSecond: 20 * MiB }));
    const id = await ferry.enqueue({ url });
    await receivedAtLeast(ferry, id, 4 * MiB);
    expect(await parts(ferry.storageDir)).toHaveLength(1);

    const asked = Date.now();
    const response = await ferry.request<DownloadAccepted>('DELETE', `/v1/downloads/${id}`);
    const status = await ferry.waitFor(id, ['cancelled'], 5000);
    const tookMs = Date.now() - asked;

    expect(response.status).toBe(200);
    expect(response.body).toEqual({ id, state: 'cancelled', url });
    expect(tookMs).toBeLessThan(1000);
    expect(status.error?.code).toBe('FERRY_ERR_CANCELLED');
    expect(status.finishedAt).not.toBeNull();
    expect(await parts(ferry.storageDir)).toEqual([]);
    expect(worker.logs()).toContain('stopping download on request');
    // The origin stopped sending: nothing like the whole file went out.
    const sent = bodyBytesSent.get('/big.bin')?.[0] ?? 0;
    expect(sent).toBeLessThan(file.size / 2);
    // The worker is free for the next download.
    const small = await stack.origin.randomFile('after.bin', 64 * 1024);
    const next = await ferry.enqueue({ url: stack.origin.route('/after.bin', serveFile(small)) });
    expect((await ferry.waitFor(next)).state).toBe('completed');
  });

  it('cancels a queued download at once, and a retry then downloads it', async () => {
    const { ferry } = stack;
    const file = await stack.origin.randomFile('queued.bin', 256 * 1024);
    const url = stack.origin.route('/queued.bin', serveFile(file));
    const id = await ferry.enqueue({ url });

    const cancelled = await ferry.request<DownloadAccepted>('DELETE', `/v1/downloads/${id}`);
    expect(cancelled.status).toBe(200);
    expect(cancelled.body.state).toBe('cancelled');
    const status = await ferry.status(id);
    expect(status.state).toBe('cancelled');
    expect(status.error).toEqual({ code: 'FERRY_ERR_CANCELLED', message: 'cancelled by request', retryable: false });
    // Cancelling again changes nothing and says so.
    expect((await ferry.request<DownloadAccepted>('DELETE', `/v1/downloads/${id}`)).body.state).toBe('cancelled');

    await ferry.startWorker();
    const retried = await ferry.request<DownloadAccepted>('POST', `/v1/downloads/${id}/retry`);
    expect(retried.status).toBe(202);
    const done = await ferry.waitFor(id);
    expect(done.state).toBe('completed');
    expect(await sha256File(pathOf(done.result!.location))).toBe(file.sha256);
  });

  it('cancels a delayed download, and refuses to cancel a finished one', async () => {
    const { ferry } = stack;
    await ferry.startWorker();
    const file = await stack.origin.randomFile('later.bin', 1024);
    const url = stack.origin.route('/later.bin', serveFile(file));
    const later = await ferry.enqueue({ url, delayMs: 60_000 });
    expect((await ferry.request<DownloadAccepted>('DELETE', `/v1/downloads/${later}`)).body.state).toBe('cancelled');
    expect((await ferry.status(later)).state).toBe('cancelled');

    const now = await ferry.enqueue({ url });
    expect((await ferry.waitFor(now)).state).toBe('completed');
    const refused = await ferry.request<{ code: string; message: string }>('DELETE', `/v1/downloads/${now}`);
    expect(refused.status).toBe(409);
    expect(refused.body.code).toBe('FERRY_ERR_WRONG_STATE');
    expect(refused.body.message).toContain('is completed');
    expect((await ferry.status(now)).state).toBe('completed');
  });

  it("answers 404 for another key's download and leaves it alone", async () => {
    const { ferry } = stack;
    const file = await stack.origin.randomFile('theirs.bin', 1024);
    const id = await ferry.enqueue({ url: stack.origin.route('/theirs.bin', serveFile(file)) });
    const response = await ferry.request<{ code: string }>('DELETE', `/v1/downloads/${id}`, undefined, bearer(OTHER_API_KEY));
    expect(response.status).toBe(404);
    expect(response.body.code).toBe('FERRY_ERR_NOT_FOUND');
    expect((await ferry.status(id)).state).toBe('queued');
  });
});

describe('pause and resume', () => {
  it('pauses an active download keeping its bytes, and resumes it to a byte-identical file fetching at most 1.05x its size', async () => {
    const { ferry } = stack;
    await ferry.startWorker();
    const file = await stack.origin.randomFile('paused.bin', 40 * MiB);
    const route = '/paused.bin';
    const url = stack.origin.route(route, serveFile(file, { etag: '"p1"', bytesPerSecond: 20 * MiB }));
    const id = await ferry.enqueue({ url });
    await receivedAtLeast(ferry, id, 12 * MiB);

    const paused = await ferry.request<DownloadAccepted>('POST', `/v1/downloads/${id}/pause`);
    expect(paused.status).toBe(200);
    expect(paused.body.state).toBe('paused');
    const status = await ferry.status(id);
    expect(status.state).toBe('paused');
    expect(status.progress.receivedBytes).toBeGreaterThanOrEqual(12 * MiB);
    expect(await parts(ferry.storageDir)).toHaveLength(1);
    // Paused means paused: nothing runs it while it waits.
    await new Promise((resolve) => setTimeout(resolve, 1500));
    expect((await ferry.status(id)).state).toBe('paused');
    expect(stack.origin.requests(route)).toHaveLength(1);

    const resumed = await ferry.request<DownloadAccepted>('POST', `/v1/downloads/${id}/resume`);
    expect(resumed.status).toBe(202);
    expect(resumed.body.state).toBe('queued');
    const done = await ferry.waitFor(id);

    expect(done.state).toBe('completed');
    expect(await sha256File(pathOf(done.result!.location))).toBe(file.sha256);
    expect(stack.origin.requests(route)[1]?.headers.range).toMatch(/^bytes=\d+-$/);
    const fetched = (bodyBytesSent.get(route) ?? []).reduce((sum, bytes) => sum + bytes, 0);
    expect(fetched).toBeLessThanOrEqual(1.05 * file.size);
    expect(done.attempts.made).toBe(1);
    expect(await parts(ferry.storageDir)).toEqual([]);
  });

  it('pauses a queued download until it is resumed', async () => {
    const { ferry } = stack;
    const file = await stack.origin.randomFile('wait.bin', 128 * 1024);
    const url = stack.origin.route('/wait.bin', serveFile(file));
    const id = await ferry.enqueue({ url });
    expect((await ferry.request<DownloadAccepted>('POST', `/v1/downloads/${id}/pause`)).body.state).toBe('paused');
    await ferry.startWorker();
    await new Promise((resolve) => setTimeout(resolve, 1000));
    expect((await ferry.status(id)).state).toBe('paused');

    expect((await ferry.request('POST', `/v1/downloads/${id}/resume`)).status).toBe(202);
    const done = await ferry.waitFor(id);
    expect(done.state).toBe('completed');
    expect(await sha256File(pathOf(done.result!.location))).toBe(file.sha256);
  });

  it('cancels a paused download, and refuses to resume one that is not paused', async () => {
    const { ferry } = stack;
    const file = await stack.origin.randomFile('p.bin', 1024);
    const id = await ferry.enqueue({ url: stack.origin.route('/p.bin', serveFile(file)) });
    const notPaused = await ferry.request<{ code: string; message: string }>('POST', `/v1/downloads/${id}/resume`);
    expect(notPaused.status).toBe(409);
    expect(notPaused.body).toEqual({ code: 'FERRY_ERR_WRONG_STATE', message: `download ${id} is queued; only a paused download can be resumed` });

    await ferry.request('POST', `/v1/downloads/${id}/pause`);
    expect((await ferry.request<DownloadAccepted>('DELETE', `/v1/downloads/${id}`)).body.state).toBe('cancelled');
    expect((await ferry.status(id)).state).toBe('cancelled');
    const refused = await ferry.request<{ code: string }>('POST', `/v1/downloads/${id}/pause`);
    expect(refused.status).toBe(409);
    expect(refused.body.code).toBe('FERRY_ERR_WRONG_STATE');
  });
});
