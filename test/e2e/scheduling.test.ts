import { describe, expect, it } from 'vitest';
import { serveFile, status } from '../support/origin.js';
import { useStack } from '../support/stack.js';

const stack = useStack({ workers: 1, env: { FERRY_WORKER_CONCURRENCY: '1' } });

describe('priority', () => {
  it('runs a priority 1 download before a priority 100 one queued earlier', async () => {
    const slow = await stack.origin.randomFile('blocker.bin', 1024 * 1024);
    const small = await stack.origin.randomFile('small.bin', 100);
    // Keeps the single slot busy while the two others wait in the queue.
    const blocker = await stack.ferry.enqueue({ url: stack.origin.route('/prio/blocker.bin', serveFile(slow, { bytesPerSecond: 1024 * 1024 })) });
    await stack.ferry.waitFor(blocker, ['active']);
    const low = await stack.ferry.enqueue({ url: stack.origin.route('/prio/low.bin', serveFile(small)), priority: 100 });
    const high = await stack.ferry.enqueue({ url: stack.origin.route('/prio/high.bin', serveFile(small)), priority: 1 });
    const [lowFinal, highFinal] = await Promise.all([stack.ferry.waitFor(low), stack.ferry.waitFor(high)]);
    expect(highFinal.state).toBe('completed');
    expect(lowFinal.state).toBe('completed');
    expect(stack.origin.requests('/prio/high.bin')[0]!.at).toBeLessThan(stack.origin.requests('/prio/low.bin')[0]!.at);
  });
});

describe('delayMs and notBefore', () => {
  it('starts a delayed download no earlier than asked, and reports it as delayed meanwhile', async () => {
    const file = await stack.origin.randomFile('later.bin', 100);
    const posted = Date.now();
    const response = await stack.ferry.request<{ id: string; state: string }>('POST', '/v1/downloads', {
      url: stack.origin.route('/later.bin', serveFile(file)),
      delayMs: 1500,
    });
    expect(response.status).toBe(202);
    expect(response.body.state).toBe('delayed');
    expect((await stack.ferry.status(response.body.id)).state).toBe('delayed');
    const final = await stack.ferry.waitFor(response.body.id);
    expect(final.state).toBe('completed');
    expect(stack.origin.requests('/later.bin')[0]!.at - posted).toBeGreaterThanOrEqual(1500);
  });

  it('starts at once when notBefore is already past, and refuses delayMs with notBefore', async () => {
    const file = await stack.origin.randomFile('past.bin', 100);
    const final = await stack.ferry.waitFor(
      await stack.ferry.enqueue({ url: stack.origin.route('/past.bin', serveFile(file)), notBefore: '2020-01-01T00:00:00Z' }),
    );
    expect(final.state).toBe('completed');
    const both = await stack.ferry.request<{ code: string; message: string }>('POST', '/v1/downloads', {
      url: 'https://example.com/a',
      delayMs: 5,
      notBefore: '2030-01-01T00:00:00Z',
    });
    expect(both.status).toBe(400);
    expect(both.body.message).toMatch(/notBefore cannot be combined with delayMs/);
  });
});

describe('POST /v1/downloads/{id}/retry', () => {
  it('runs a failed download again with fresh attempts, and refuses one that has not failed', async () => {
    const file = await stack.origin.randomFile('second-chance.bin', 500);
    // 404 fails at once; the retry then finds the file.
    const route = '/retry/second-chance.bin';
    const id = await stack.ferry.enqueue({ url: stack.origin.route(route, status(404), serveFile(file)) });
    expect((await stack.ferry.waitFor(id)).state).toBe('failed');

    const retried = await stack.ferry.request<{ id: string; state: string }>('POST', `/v1/downloads/${id}/retry`);
    expect(retried.status).toBe(202);
    expect(retried.body).toMatchObject({ id, state: 'queued' });
    const final = await stack.ferry.waitFor(id);
    expect(final.state).toBe('completed');
    expect(final.attempts.made).toBe(1);
    expect(final.result?.sha256).toBe(file.sha256);

    const again = await stack.ferry.request<{ code: string }>('POST', `/v1/downloads/${id}/retry`);
    expect(again.status).toBe(409);
    expect(again.body.code).toBe('FERRY_ERR_NOT_RETRYABLE_STATE');
  });
});
