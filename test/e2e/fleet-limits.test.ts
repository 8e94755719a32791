import { describe, expect, it, beforeAll, afterAll } from 'vitest';
import { ConcurrencyGauge, slowly } from '../support/concurrency.js';
import { API_KEY, OTHER_API_KEY, bearer } from '../support/ferry.js';
import { serveFile, status, TestOrigin, type Handler, type RandomFile } from '../support/origin.js';
import { useStack } from '../support/stack.js';
import { until } from '../support/wait.js';

// Four workers of four slots each share the limits; each test uses origins of its own (a host is name and port).
const origins: Record<'limited' | 'parked' | 'pushback' | 'slow' | 'fast' | 'cooling' | 'tenantA' | 'tenantB' | 'dying', TestOrigin> = {} as never;
const hostOf = (origin: TestOrigin) => new URL(origin.baseUrl).host;
const env: Record<string, string> = {
  FERRY_HOST_CONCURRENCY: '3',
  FERRY_KEY_CONCURRENCY_OVERRIDES: 'other=1',
  FERRY_HOST_COOLDOWN_MAX_MS: '10000',
  FERRY_LIMIT_WAIT_MS: '100',
  FERRY_LIMIT_WAIT_MAX_MS: '1000',
  FERRY_WORKER_CONCURRENCY: '4',
};
beforeAll(async () => {
  for (const name of Object.keys({ limited: 0, parked: 0, pushback: 0, slow: 0, fast: 0, cooling: 0, tenantA: 0, tenantB: 0, dying: 0 }) as Array<
    keyof typeof origins
  >) {
    origins[name] = await TestOrigin.start();
  }
  // Overrides name hosts by port, so the origins start before the workers read them.
  env['FERRY_HOST_CONCURRENCY_OVERRIDES'] = `${hostOf(origins.slow)}=2,${hostOf(origins.fast)}=16`;
});
afterAll(async () => {
  for (const origin of Object.values(origins)) await origin.close();
});
const stack = useStack({ workers: 4, env });

async function enqueueBatch(urls: string[], key = API_KEY): Promise<{ id: string; downloads: string[] }> {
  const response = await stack.ferry.request<{ id: string; downloads: string[] }>(
    'POST',
    '/v1/batches',
    { downloads: urls.map((url) => ({ url })) },
    bearer(key),
  );
  if (response.status !== 202) throw new Error(`batch answered ${response.status}: ${JSON.stringify(response.body)}`);
  return response.body;
}

async function expectCompleted(ids: string[], file: RandomFile, key = API_KEY): Promise<void> {
  for (const id of ids) {
    const done = await stack.ferry.waitFor(id, ['completed', 'failed'], 60_000, key);
    expect(done.state, JSON.stringify(done.error)).toBe('completed');
    expect(done.result?.sha256).toBe(file.sha256);
  }
}

describe('when more downloads of one host are queued than its limit', () => {
  it('never runs more than the limit at once across four workers, and runs them all', async () => {
    const origin = origins.limited;
    const gauge = new ConcurrencyGauge();
    const file = await origin.randomFile('limited.bin', 64 * 1024);
    const urls = Array.from({ length: 16 }, (_, i) => origin.route(`/limited/${i}.bin`, gauge.count(slowly(250, serveFile(file)))));
    const { downloads } = await enqueueBatch(urls);
    await expectCompleted(downloads, file);
    expect(gauge.max).toBe(3);
    // Waiting spent no attempt: each download took exactly the one that completed it.
    for (const id of downloads) expect((await stack.ferry.status(id)).attempts.made).toBe(1);
  });
});

describe('when a download waits for its host', () => {
  it('can be paused, resumed and cancelled while it waits, and spends no attempt waiting', async () => {
    const origin = origins.parked;
    const file = await origin.randomFile('parked.bin', 16 * 1024);
    let open = false;
    const gate: Handler = async (req, res) => {
      await until(() => open, 'the test to open the origin', 60_000);
      await serveFile(file)(req, res);
    };
    const busy = await enqueueBatch(Array.from({ length: 3 }, (_, i) => origin.route(`/parked/busy-${i}.bin`, gate)));
    await until(async () => (await stack.ferry.status(busy.downloads[2]!)).state === 'active', 'the host to be full');
    const [toPause, toCancel] = await Promise.all([
      stack.ferry.enqueue({ url: origin.route('/parked/pause.bin', serveFile(file)) }),
      stack.ferry.enqueue({ url: origin.route('/parked/cancel.bin', serveFile(file)) }),
    ]);
    await until(async () => (await stack.ferry.status(toPause)).waiting?.reason === 'host-limit', 'a download waiting for the host');
    // 200 if the pause found it in the delayed set, 202 if a worker had just taken it to check the limits again.
    expect([200, 202]).toContain((await stack.ferry.request('POST', `/v1/downloads/${toPause}/pause`)).status);
    expect((await stack.ferry.status(toPause)).state).toBe('paused');
    await until(async () => (await stack.ferry.status(toCancel)).waiting !== null, 'the other to wait');
    expect((await stack.ferry.request('DELETE', `/v1/downloads/${toCancel}`)).status).toBeLessThan(300);
    expect((await stack.ferry.status(toCancel)).state).toBe('cancelled');
    open = true;
    await expectCompleted(busy.downloads, file);
    // Still paused after the host freed up: a wait for a slot never undoes a pause.
    expect((await stack.ferry.status(toPause)).state).toBe('paused');
    // A pause recorded while a worker held it is carried out by that worker on the job's next turn; until then resume answers 409.
    await until(async () => (await stack.ferry.request('POST', `/v1/downloads/${toPause}/resume`)).status === 202, 'the resume to be accepted');
    await expectCompleted([toPause], file);
    expect((await stack.ferry.status(toPause)).attempts.made).toBe(1);
    expect(origin.requests('/parked/cancel.bin')).toHaveLength(0);
  });
});

describe('when a slow host with limit 2 has a long backlog', () => {
  it('does not hold up the downloads of a fast host, which finish while the backlog remains', async () => {
    const slowGauge = new ConcurrencyGauge();
    const slowFile = await origins.slow.randomFile('slow.bin', 32 * 1024);
    const slow = await enqueueBatch(
      Array.from({ length: 200 }, (_, i) => origins.slow.route(`/slow/${i}.bin`, slowGauge.count(slowly(500, serveFile(slowFile))))),
    );
    await until(() => slowGauge.now === 2, 'the slow host to be at its limit');
    const fastFile = await origins.fast.randomFile('fast.bin', 16 * 1024);
    const fast = await enqueueBatch(Array.from({ length: 40 }, (_, i) => origins.fast.route(`/fast/${i}.bin`, serveFile(fastFile))));
    await expectCompleted(fast.downloads, fastFile);
    const slowServed = slowGauge.starts.length;
    expect(slowServed).toBeLessThan(100);
    expect(slowGauge.max).toBe(2);
    const cancelled = await stack.ferry.request('DELETE', `/v1/batches/${slow.id}`);
    expect(cancelled.status).toBeLessThan(300);
  });
});

describe('when an origin answers 429 with Retry-After: 2', () => {
  it('closes the host to every worker for 2 s, and the downloads that wait spend no attempt', async () => {
    const origin = origins.cooling;
    const gauge = new ConcurrencyGauge();
    const file = await origin.randomFile('cool.bin', 16 * 1024);
    const first = await stack.ferry.enqueue({
      url: origin.route('/cool/first.bin', gauge.count(status(429, { 'retry-after': '2' })), gauge.count(serveFile(file))),
    });
    // The host closes once the worker has the 429, a moment after the origin sent it: wait for the attempt to end.
    await until(async () => (await stack.ferry.status(first)).attempts.made === 1, 'the 429 to end an attempt');
    const closedAt = gauge.starts[0]!;
    const others = await enqueueBatch(Array.from({ length: 8 }, (_, i) => origin.route(`/cool/${i}.bin`, gauge.count(serveFile(file)))));
    // While it waits, a download says why: the host's cooldown.
    let waiting;
    await until(async () => {
      waiting = (await stack.ferry.status(others.downloads[0]!)).waiting;
      return waiting !== null;
    }, 'a waiting download');
    expect(waiting).toMatchObject({ reason: 'host-cooldown', host: hostOf(origin) });
    const failed = await stack.ferry.status(first);
    expect(failed.error?.message).toContain(`${hostOf(origin)} is closed to this API key's downloads on every worker for 2 s`);

    await expectCompleted([first, ...others.downloads], file);
    const after = gauge.starts.slice(1);
    expect(after).toHaveLength(9);
    for (const at of after) expect(at - closedAt).toBeGreaterThanOrEqual(2000);
    for (const id of others.downloads) expect((await stack.ferry.status(id)).attempts.made).toBe(1);
    expect((await stack.ferry.status(first)).attempts.made).toBe(2);
  });
});

describe('when an origin answers 503 without Retry-After', () => {
  it('halves its host limit for the whole fleet, says so in the failed attempt, and the downloads still complete', async () => {
    const origin = origins.pushback;
    const gauge = new ConcurrencyGauge();
    const file = await origin.randomFile('pushback.bin', 16 * 1024);
    const refused = origin.route('/pushback/refused.bin', gauge.count(slowly(300, status(503))), gauge.count(serveFile(file)));
    const others = Array.from({ length: 5 }, (_, i) => origin.route(`/pushback/${i}.bin`, gauge.count(slowly(300, serveFile(file)))));
    const { downloads } = await enqueueBatch([refused, ...others]);
    // Up to three run at once (the host's limit); the 503 halves what was in flight (3 or fewer) to 1.
    // The failure is read from the job itself: its retry comes after 50-100 ms, and the status shows an error only meanwhile.
    const failedReason = async () => (await stack.ferry.queue.getJob(downloads[0]!))?.failedReason ?? '';
    await until(async () => (await failedReason()) !== '', 'the 503 to end an attempt');
    expect(await failedReason()).toContain(`${hostOf(origin)} now gets at most 1 download at once until it recovers`);
    await expectCompleted(downloads, file);
    expect(gauge.max).toBeLessThanOrEqual(3);
  });
});

describe('when one API key is at its limit', () => {
  it('does not block another key, and runs that key one download at a time', async () => {
    const busyGauge = new ConcurrencyGauge();
    const busyFile = await origins.tenantA.randomFile('busy.bin', 32 * 1024);
    const busy = await enqueueBatch(
      Array.from({ length: 8 }, (_, i) => origins.tenantA.route(`/busy/${i}.bin`, busyGauge.count(slowly(500, serveFile(busyFile))))),
      OTHER_API_KEY,
    );
    await until(() => busyGauge.now === 1, 'the limited key to be running');
    const freeFile = await origins.tenantB.randomFile('free.bin', 16 * 1024);
    const free = await enqueueBatch(Array.from({ length: 6 }, (_, i) => origins.tenantB.route(`/free/${i}.bin`, serveFile(freeFile))));
    await expectCompleted(free.downloads, freeFile);
    expect(busyGauge.starts.length).toBeLessThan(8);
    await expectCompleted(busy.downloads, busyFile, OTHER_API_KEY);
    // The host allows 3; the key, 1.
    expect(busyGauge.max).toBe(1);
  });
});

describe('when every worker holding slots is SIGKILLed', () => {
  it('frees the slots after their TTL (the lock duration), so the next downloads of that host run', async () => {
    const origin = origins.dying;
    const gauge = new ConcurrencyGauge();
    const file = await origin.randomFile('dying.bin', 256 * 1024);
    const hanging = slowly(60_000, serveFile(file));
    const urls = Array.from({ length: 3 }, (_, i) => origin.route(`/dying/${i}.bin`, gauge.count(hanging)));
    const held = await enqueueBatch(urls);
    await until(() => gauge.now === 3, 'three downloads holding the host');
    // From now on the origin answers fast, so the jobs taken over from the dead workers finish too.
    for (let i = 0; i < 3; i += 1) origin.route(`/dying/${i}.bin`, gauge.count(serveFile(file)));
    for (const worker of stack.ferry.workers) worker.child.kill('SIGKILL');
    await Promise.all(stack.ferry.workers.map((worker) => worker.exited));
    await stack.ferry.startWorker();
    await stack.ferry.startWorker();
    const next = await enqueueBatch(Array.from({ length: 3 }, (_, i) => origin.route(`/dying/next-${i}.bin`, gauge.count(serveFile(file)))));
    await expectCompleted([...held.downloads, ...next.downloads], file);
    expect(gauge.max).toBeLessThanOrEqual(3);
  });
});
