import { randomUUID } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import net, { type AddressInfo } from 'node:net';
import { type DownloadStatus } from '@ferry/contract';
import { CALLBACK_JOB, CALLBACK_QUEUE, DOWNLOAD_JOB, type CallbackJob } from '@ferry/core';
import { Queue } from 'bullmq';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { listenInTestPorts, status } from '../support/origin.js';
import { useStack } from '../support/stack.js';
import { until } from '../support/wait.js';

interface Payload {
  readonly url: string;
  readonly why: string;
  readonly needsDns?: boolean;
}

const stack = useStack({ workers: 1 });
const payloads: Payload[] = JSON.parse(await readFile(new URL('../fixtures/ssrf-payloads.json', import.meta.url), 'utf8'));

/** A listener that must never be reached; it counts the connections that reach it anyway. */
async function canary(host: string): Promise<{ port: number; connections: () => number; close: () => Promise<void> }> {
  let connections = 0;
  const server = net.createServer((socket) => {
    connections += 1;
    socket.destroy();
  });
  await listenInTestPorts(server, host);
  return {
    port: (server.address() as AddressInfo).port,
    connections: () => connections,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}

// Sockets may only ever be aimed at this machine, so the worker tries only payloads that land on loopback or the
// unspecified address (which Linux routes to loopback); the other ranges are refused by the same code, unit-tested in core.
function onThisMachine(url: URL): boolean {
  const host = url.hostname.replace(/^\[|\]$/g, '');
  return /^(127\.\d+\.\d+\.\d+|0\.0\.0\.0|::1?|::ffff:(7f[0-9a-f]{2}:[0-9a-f]{1,4}|0:0)|::ffff:127\.\d+\.\d+\.\d+)$/i.test(host);
}

const stubStatus: DownloadStatus = {
  id: 'stub',
  url: 'https://example.com/',
  state: 'failed',
  batchId: null,
  progress: { receivedBytes: 0, totalBytes: null },
  attempts: { made: 1, max: 1 },
  result: null,
  error: null,
  waiting: null,
  createdAt: new Date(0).toISOString(),
  finishedAt: null,
};

let v4: Awaited<ReturnType<typeof canary>>;
let v6: Awaited<ReturnType<typeof canary>>;

beforeAll(async () => {
  v4 = await canary('127.0.0.1');
  v6 = await canary('::1');
});

afterAll(async () => {
  await v4?.close();
  await v6?.close();
});

describe('the SSRF payload corpus', () => {
  it.each(['url', 'callbackUrl'])('refuses every payload as %s at the API with a 400 and enqueues nothing', async (field) => {
    let tried = 0;
    for (const payload of payloads) {
      const body = field === 'url' ? { url: payload.url } : { url: 'https://example.com/file.bin', callbackUrl: payload.url };
      const response = await stack.ferry.request<{ code: string }>('POST', '/v1/downloads', body);
      tried += 1;
      if (payload.needsDns) {
        // Refused by the worker's guarded lookup once it resolves the name; the API does not resolve names.
        expect([202, 400], payload.why).toContain(response.status);
        continue;
      }
      expect(response.status, `${payload.url} (${payload.why})`).toBe(400);
      expect(['FERRY_ERR_BLOCKED_DESTINATION', 'FERRY_ERR_VALIDATION'], payload.url).toContain(response.body.code);
    }
    await stack.ferry.queue.obliterate({ force: true });
    console.log(`SSRF corpus: ${tried} payloads tried at the API as ${field}`);
  });

  it('never lets a worker connect, whether the payload is queued directly, comes after one redirect or after three, or is a callback URL', async () => {
    const targets = payloads
      .filter((p) => !p.needsDns)
      .map((p) => {
        try {
          return new URL(p.url);
        } catch {
          return undefined;
        }
      })
      .filter((url): url is URL => url !== undefined && (url.protocol === 'http:' || url.protocol === 'https:') && onThisMachine(url))
      .map((url) => {
        // Aimed at the canaries: a port the policy allows, so only the address can refuse it.
        const aimed = new URL(url.href);
        aimed.port = String(aimed.hostname.includes(':') ? v6.port : v4.port);
        aimed.protocol = 'http:';
        return aimed.href;
      });
    const unique = [...new Set(targets)];
    expect(unique.length).toBeGreaterThanOrEqual(10);

    const jobIds: string[] = [];
    for (const [i, target] of unique.entries()) {
      // Directly into the queue, as a job added by hand in the dashboard would be: the worker must refuse it on its own.
      const direct = await stack.ferry.queue.add(DOWNLOAD_JOB, { owner: 'test', request: { url: target } }, { jobId: randomUUID() });
      jobIds.push(direct.id!);
      const once = stack.origin.route(`/ssrf/${i}/one`, status(302, { location: target }));
      jobIds.push(await stack.ferry.enqueue({ url: once }));
      const hop3 = stack.origin.route(`/ssrf/${i}/three-c`, status(307, { location: target }));
      const hop2 = stack.origin.route(`/ssrf/${i}/three-b`, status(308, { location: hop3 }));
      const hop1 = stack.origin.route(`/ssrf/${i}/three-a`, status(301, { location: hop2 }));
      jobIds.push(await stack.ferry.enqueue({ url: hop1 }));
    }

    // And as callback URLs, queued for delivery directly so that only the callback worker stands in the way.
    const callbacks = new Queue(CALLBACK_QUEUE, { connection: { url: stack.redis.url }, prefix: 'ferry' });
    const callbackIds: string[] = [];
    for (const target of unique) {
      const event: CallbackJob['event'] = { type: 'download.failed', timestamp: new Date().toISOString(), data: stubStatus };
      const job = await callbacks.add(CALLBACK_JOB, { url: target, owner: 'test', event } satisfies CallbackJob, { attempts: 1 });
      callbackIds.push(job.id!);
    }

    for (const id of jobIds) {
      const final = await stack.ferry.waitFor(id);
      expect(final.state).toBe('failed');
      expect(final.attempts.made).toBe(1);
      expect(final.error?.code, JSON.stringify(final)).toBe('FERRY_ERR_BLOCKED_DESTINATION');
      expect(final.error?.message).not.toMatch(/127\.0\.0\.2/);
    }
    for (const id of callbackIds) {
      await until(async () => (await callbacks.getJobState(id)) === 'failed', `callback ${id} to fail`);
      expect((await callbacks.getJob(id))?.failedReason).toMatch(/^FERRY_ERR_BLOCKED_DESTINATION: /);
    }
    await callbacks.close();
    expect(v4.connections() + v6.connections()).toBe(0);
    console.log(
      `SSRF corpus: ${unique.length} loopback targets × (queued directly, after 1 redirect, after 3 redirects, as a callback) = ${jobIds.length + callbackIds.length} jobs, 0 connections to the canaries`,
    );
  });

  it('refuses a redirect from https to http and to other schemes', async () => {
    const toFile = stack.origin.route('/ssrf/to-file', status(302, { location: 'file:///etc/passwd' }));
    const toGopher = stack.origin.route('/ssrf/to-gopher', status(302, { location: 'gopher://127.0.0.1:70/_x' }));
    for (const url of [toFile, toGopher]) {
      const final = await stack.ferry.waitFor(await stack.ferry.enqueue({ url }));
      expect(final.error?.code).toBe('FERRY_ERR_BLOCKED_DESTINATION');
    }
  });
});

describe('the fixture origin itself', () => {
  it('is reachable only because the test config allows exactly its address', async () => {
    const response = await stack.ferry.request<{ code: string; message: string }>('POST', '/v1/downloads', { url: `http://127.0.0.1:${v4.port}/x` });
    expect(response.status).toBe(400);
    expect(response.body.message).toMatch(/loopback/);
  });
});
