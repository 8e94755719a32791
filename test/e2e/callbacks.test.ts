import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { CALLBACK_QUEUE, generateWebhookSecret, verifyWebhook } from '@ferry/core';
import { Queue } from 'bullmq';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { keyWebhookSecret, OTHER_API_KEY, WEBHOOK_SECRET } from '../support/ferry.js';
import { serveFile, status } from '../support/origin.js';
import { asHeaders, receiver as receiverOn } from '../support/receiver.js';
import { useStack } from '../support/stack.js';
import { receivedAtLeast, until } from '../support/wait.js';

const stack = useStack({ workers: 1 });
/** What the receiver of the suites' default key, `test`, verifies with. */
const SECRET = keyWebhookSecret('test');

/** A receiver route on the fixture origin that records each delivery and answers with `statuses` in turn. */
const receiver = (path: string, ...statuses: number[]) => receiverOn(stack.origin, path, ...statuses);

/** A callback's job id and webhook-id: the download, the event type and when the download ended. */
async function callbackId(id: string, type: string): Promise<string> {
  const { finishedAt } = await stack.ferry.status(id);
  return `${id}.${type}.${Date.parse(finishedAt ?? '')}`;
}

let callbacks: Queue;
beforeAll(() => {
  callbacks = new Queue(CALLBACK_QUEUE, { connection: { url: stack.redis.url }, prefix: 'ferry' });
});
afterAll(async () => {
  await callbacks?.close();
});

describe('when a download with a callbackUrl completes', () => {
  it('POSTs one signed download.completed event that the documented verifier accepts', async () => {
    const file = await stack.origin.randomFile('called-back.bin', 5000);
    const hook = receiver('/hooks/completed', 204);
    const id = await stack.ferry.enqueue({ url: stack.origin.route('/cb/called-back.bin', serveFile(file)), callbackUrl: hook.url });
    await until(() => hook.deliveries.length === 1, 'the callback');

    const [delivery] = hook.deliveries;
    const event = verifyWebhook(SECRET, asHeaders(delivery!.headers), delivery!.body) as {
      type: string;
      data: { id: string; result: { sha256: string } };
    };
    expect(event.type).toBe('download.completed');
    expect(event.data.id).toBe(id);
    expect(event.data.result.sha256).toBe(file.sha256);
    expect(delivery!.headers['webhook-id']).toBe(await callbackId(id, 'download.completed'));
    expect(delivery!.headers['content-type']).toBe('application/json');
  });

  it('is rejected by the verifier when the body was tampered with or the delivery is replayed later', async () => {
    const file = await stack.origin.randomFile('tamper.bin', 100);
    const hook = receiver('/hooks/tamper', 200);
    await stack.ferry.enqueue({ url: stack.origin.route('/cb/tamper.bin', serveFile(file)), callbackUrl: hook.url });
    await until(() => hook.deliveries.length === 1, 'the callback');
    const { headers, body } = hook.deliveries[0]!;

    expect(() => verifyWebhook(SECRET, asHeaders(headers), body.replace('download.completed', 'download.failed'))).toThrow(/no signature matches/);
    expect(() => verifyWebhook(generateWebhookSecret(), asHeaders(headers), body)).toThrow(/no signature matches/);
    const later = Number(headers['webhook-timestamp']) + 600;
    expect(() => verifyWebhook(SECRET, asHeaders(headers), body, { now: later })).toThrow(/outside the tolerance/);
  });
});

describe('when two API keys send callbacks to the same receiver', () => {
  it("signs each with its own key's secret and names the key, so a callback made by key B cannot pass as key A's", async () => {
    const file = await stack.origin.randomFile('tenant.bin', 100);
    const hook = receiver('/hooks/tenant-a', 200);
    const url = stack.origin.route('/cb/tenant.bin', serveFile(file));
    const own = await stack.ferry.enqueue({ url, callbackUrl: hook.url });
    // Key B points its callback at A's receiver: Ferry delivers it, signed, but not as A's.
    const foreign = await stack.ferry.enqueue({ url, callbackUrl: hook.url }, OTHER_API_KEY);
    await until(() => hook.deliveries.length === 2, 'both callbacks');
    const of = (id: string) => hook.deliveries.find((d) => (JSON.parse(d.body) as { data: { id: string } }).data.id === id)!;

    expect(verifyWebhook(SECRET, asHeaders(of(own).headers), of(own).body)).toMatchObject({ data: { id: own } });
    expect(of(own).headers['ferry-api-key']).toBe('test');
    expect(() => verifyWebhook(SECRET, asHeaders(of(foreign).headers), of(foreign).body)).toThrow(/no signature matches/);
    expect(verifyWebhook(keyWebhookSecret('other'), asHeaders(of(foreign).headers), of(foreign).body)).toMatchObject({ data: { id: foreign } });
    expect(of(foreign).headers['ferry-api-key']).toBe('other');
    // The server's secret itself signs nothing, so holding it is not needed to verify, and a key's secret reveals no other's.
    expect(() => verifyWebhook(WEBHOOK_SECRET, asHeaders(of(own).headers), of(own).body)).toThrow(/no signature matches/);
  });
});

describe('when the receiver fails twice, then succeeds', () => {
  // A 4xx is retried as a 5xx is: every answer other than 2xx is a rejected delivery worth another try.
  it.each([
    ['5xx', 500, 503],
    ['4xx', 404, 410],
  ])('retries its %s answers with the same webhook-id and records exactly one successful delivery', async (kind, first, second) => {
    const file = await stack.origin.randomFile(`flaky-hook-${kind}.bin`, 100);
    const hook = receiver(`/hooks/flaky-${kind}`, first, second, 200);
    const id = await stack.ferry.enqueue({ url: stack.origin.route(`/cb/flaky-hook-${kind}.bin`, serveFile(file)), callbackUrl: hook.url });
    await until(() => hook.deliveries.length === 3, 'three deliveries');

    expect(hook.deliveries.map((d) => d.answered)).toEqual([first, second, 200]);
    const callback = await callbackId(id, 'download.completed');
    expect(new Set(hook.deliveries.map((d) => d.headers['webhook-id']))).toEqual(new Set([callback]));
    // The 200 is on the wire a moment before the worker records the delivery.
    await until(async () => (await callbacks.getJobState(callback)) === 'completed', 'the delivery to be recorded', 5000);
    const finished = await callbacks.getJob(callback);
    expect(finished?.returnvalue).toEqual({ status: 200, attempt: 3 });
    expect(finished?.attemptsMade).toBe(3);
    // Nothing more arrives once it was delivered.
    await new Promise((resolve) => setTimeout(resolve, 500));
    expect(hook.deliveries).toHaveLength(3);
  });
});

describe('when a callback job cannot ever be delivered', () => {
  /** A real event as the worker sends it, to put in jobs added by hand. */
  async function realEvent(): Promise<unknown> {
    const file = await stack.origin.randomFile('event-source.bin', 10);
    const hook = receiver('/hooks/event-source', 200);
    await stack.ferry.enqueue({ url: stack.origin.route('/cb/event-source.bin', serveFile(file)), callbackUrl: hook.url });
    await until(() => hook.deliveries.length === 1, 'the callback');
    return JSON.parse(hook.deliveries[0]!.body);
  }

  /** Adds a callback job by hand, as something other than Ferry's own code might, and waits for it to fail. */
  async function failedCallback(name: string, data: unknown) {
    const job = await callbacks.add('callback', data, { jobId: `hand-added.${name}.${Date.now()}`, attempts: 3, backoff: { type: 'fixed', delay: 100 } });
    await until(async () => (await callbacks.getJobState(job.id!)) === 'failed', `the ${name} callback to fail`, 5000);
    // Long enough for a retry to have started, had there been one.
    await new Promise((resolve) => setTimeout(resolve, 300));
    return (await callbacks.getJob(job.id!))!;
  }

  it('fails at once, without retrying, when the egress guard refuses its destination', async () => {
    const job = await failedCallback('blocked', { url: 'http://10.0.0.1/hook', owner: 'test', event: await realEvent() });
    expect(job.failedReason).toMatch(/^FERRY_ERR_BLOCKED_DESTINATION: /);
    expect(job.attemptsMade).toBe(1);
  });

  it('fails at once when its data does not match the contract', async () => {
    const job = await failedCallback('malformed', { url: 'http://10.0.0.1/hook', event: { type: 'download.nonsense' } });
    expect(job.failedReason).toMatch(/^FERRY_ERR_INVALID_JOB: /);
    expect(job.attemptsMade).toBe(1);
  });

  it('fails at once, as invalid job data, when its url is not a URL', async () => {
    const job = await failedCallback('unparseable', { url: 'not a url', owner: 'test', event: await realEvent() });
    expect(job.failedReason).toMatch(/^FERRY_ERR_INVALID_JOB: /);
    expect(job.attemptsMade).toBe(1);
  });
});

describe('when a download fails for good', () => {
  it('POSTs one download.failed event with the error, after the last attempt only', async () => {
    const hook = receiver('/hooks/failed', 200);
    const id = await stack.ferry.enqueue({ url: stack.origin.route('/cb/flaky-then-gone', status(503), status(404)), callbackUrl: hook.url });
    await until(() => hook.deliveries.length === 1, 'the callback');
    const event = verifyWebhook(SECRET, asHeaders(hook.deliveries[0]!.headers), hook.deliveries[0]!.body) as {
      type: string;
      data: { id: string; state: string; attempts: { made: number }; error: { code: string } };
    };
    expect(event).toMatchObject({
      type: 'download.failed',
      data: { id, state: 'failed', attempts: { made: 2 }, error: { code: 'FERRY_ERR_ORIGIN_REJECTED' } },
    });
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(hook.deliveries).toHaveLength(1);
  });
});

describe('when a download is cancelled, or retried and ends again', () => {
  it('POSTs download.cancelled whether the download was waiting or running', async () => {
    const hook = receiver('/hooks/cancelled', 200);
    const file = await stack.origin.randomFile('cancel-me.bin', 64 * 1024 * 1024);
    const queued = await stack.ferry.enqueue({ url: stack.origin.route('/cb/later.bin', serveFile(file)), callbackUrl: hook.url, delayMs: 60_000 });
    const running = await stack.ferry.enqueue({
      url: stack.origin.route('/cb/cancel-me.bin', serveFile(file, { bytesPerSecond: 4 * 1024 * 1024 })),
      callbackUrl: hook.url,
    });
    await receivedAtLeast(stack.ferry, running, 1);
    for (const id of [queued, running]) await stack.ferry.request('DELETE', `/v1/downloads/${id}`);
    await until(() => hook.deliveries.length === 2, 'two callbacks');

    const events = hook.deliveries.map((d) => verifyWebhook(SECRET, asHeaders(d.headers), d.body) as { type: string; data: { id: string; state: string } });
    expect(events.map((e) => [e.type, e.data.state]).sort()).toEqual([
      ['download.cancelled', 'cancelled'],
      ['download.cancelled', 'cancelled'],
    ]);
    expect(events.map((e) => e.data.id).sort()).toEqual([queued, running].sort());
  });

  it('reports a retried download that fails again as a second event with its own webhook-id', async () => {
    const hook = receiver('/hooks/twice', 200);
    const id = await stack.ferry.enqueue({ url: stack.origin.route('/cb/always-gone', status(404)), callbackUrl: hook.url });
    await until(() => hook.deliveries.length === 1, 'the first callback');
    await stack.ferry.request('POST', `/v1/downloads/${id}/retry`);
    await until(() => hook.deliveries.length === 2, 'the second callback');
    const ids = hook.deliveries.map((d) => d.headers['webhook-id']);
    expect(new Set(ids).size).toBe(2);
    expect(ids[1]).toBe(await callbackId(id, 'download.failed'));
  });
});

describe('callback URLs', () => {
  it('pass the egress guard: a loopback callback is refused at the API', async () => {
    const response = await stack.ferry.request<{ code: string }>('POST', '/v1/downloads', {
      url: 'https://example.com/a',
      callbackUrl: 'http://127.0.0.1:40000/hook',
    });
    expect(response.status).toBe(400);
    expect(response.body.code).toBe('FERRY_ERR_BLOCKED_DESTINATION');
  });

  it('are not followed through redirects: a 3xx answer is a failed delivery', async () => {
    const file = await stack.origin.randomFile('redirected-hook.bin', 100);
    const target = receiver('/hooks/redirect-target', 200);
    const redirecting = stack.origin.route('/hooks/redirecting', status(307, { location: target.url }));
    const id = await stack.ferry.enqueue({ url: stack.origin.route('/cb/redirected-hook.bin', serveFile(file)), callbackUrl: redirecting });
    await until(() => stack.origin.requests('/hooks/redirecting').length >= 2, 'a retried delivery');
    expect(target.deliveries).toHaveLength(0);
    const job = await callbacks.getJob(await callbackId(id, 'download.completed'));
    expect(job?.failedReason).toMatch(/^FERRY_ERR_CALLBACK_REJECTED: .* answered 307/);
  });
});

describe('the verifier in the README', () => {
  it('is the code the suite runs, and it accepts a real delivery and refuses a tampered one', async () => {
    const readme = await readFile(new URL('../../README.md', import.meta.url), 'utf8');
    const snippet = /```ts\n(import \{ createHmac[\s\S]*?)```/.exec(readme)?.[1];
    expect(snippet).toBeDefined();
    const dir = new URL('../.tmp/', import.meta.url);
    await mkdir(dir, { recursive: true });
    const file = new URL('readme-verifier.ts', dir);
    await writeFile(file, snippet!);
    try {
      const { verifyFerryEvent } = (await import(file.href)) as { verifyFerryEvent: (s: string, h: Record<string, string | undefined>, b: string) => unknown };
      const data = await stack.origin.randomFile('readme-hook.bin', 10);
      const hook = receiver('/hooks/readme', 200);
      await stack.ferry.enqueue({ url: stack.origin.route('/cb/readme-hook.bin', serveFile(data)), callbackUrl: hook.url });
      await until(() => hook.deliveries.length === 1, 'the callback');
      const { headers, body } = hook.deliveries[0]!;
      expect(verifyFerryEvent(SECRET, asHeaders(headers), body)).toMatchObject({ type: 'download.completed' });
      expect(() => verifyFerryEvent(SECRET, asHeaders(headers), `${body} `)).toThrow(/bad signature/);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
