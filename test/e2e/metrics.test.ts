import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ERROR_CODES, type ErrorCode } from '@ferry/contract';
import { freePort } from '@ferry/launcher/redis-server';
import { API_KEY, bearer, Ferry, HEADERS_KEY, OTHER_API_KEY, WEBHOOK_SECRET } from '../support/ferry.js';
import { serveFile, status, type RandomFile } from '../support/origin.js';
import { TestPrometheus, type Sample } from '../support/prometheus.js';
import { receiver } from '../support/receiver.js';
import { useStack } from '../support/stack.js';
import { startTestRedis } from '../support/redis.js';
import { receivedAtLeast, until } from '../support/wait.js';

const TOKEN = 'metrics-token-for-the-end-to-end-suite-0123456789';
const SECRET_HEADER = 'Bearer header-value-that-must-stay-secret';
const SECRET_QUERY = 'query-value-that-must-stay-secret';
const RULES = fileURLToPath(new URL('../../deploy/prometheus/alerts.yml', import.meta.url));

// Two callback attempts, so a receiver that always refuses makes a delivery fail for good quickly.
const stack = useStack({ env: { FERRY_METRICS_TOKEN: TOKEN, FERRY_WORKER_CONCURRENCY: '3', FERRY_CALLBACK_ATTEMPTS: '2' } });
const workerPorts: number[] = [];
let prometheus: TestPrometheus;

const hostOf = (baseUrl: string) => new URL(baseUrl).host;
const sum = (samples: Sample[]) => samples.reduce((total, s) => total + s.value, 0);
const byLabel = (samples: Sample[], label: string) => Object.fromEntries(samples.map((s) => [s.metric[label] ?? '', s.value]));

/** Waits for a scrape of the API and both workers that began after now. */
async function scrapedFromNow(): Promise<void> {
  const now = Date.now() / 1000;
  await until(async () => (await prometheus.query(`timestamp(up) > ${now}`)).length === 3, 'a scrape of the API and both workers', 30_000);
}

beforeAll(async () => {
  for (let i = 0; i < 2; i += 1) {
    const port = await freePort();
    workerPorts.push(port);
    await stack.ferry.startWorker({ FERRY_WORKER_METRICS_PORT: String(port) });
  }
  prometheus = await TestPrometheus.start(
    [
      { name: 'ferry-api', targets: [hostOf(stack.ferry.baseUrl)], token: TOKEN },
      { name: 'ferry-worker', targets: workerPorts.map((port) => `127.0.0.1:${port}`), token: TOKEN },
    ],
    RULES,
  );
  // Prometheus applies its targets a few seconds after it starts; downloads start once it scrapes them all.
  await until(async () => (await prometheus.query('up == 1')).length === 3, 'Prometheus to scrape the API and both workers', 30_000);
});

afterAll(async () => {
  await prometheus?.close();
});

describe('when two workers run downloads while a real Prometheus scrapes them and the API', () => {
  const files: RandomFile[] = [];
  const texts: string[] = [];

  it('adds up to what happened: 20 completed, 3 failed with FERRY_ERR_ORIGIN_REJECTED, two retries, every byte once, an empty queue', async () => {
    const { origin, ferry } = stack;
    for (let i = 0; i < 20; i += 1) files.push(await origin.randomFile(`metrics-${i}.bin`, i === 0 ? 0 : 1000 * i + 17 * i * i));
    // One is cut halfway and resumed (its kept bytes are counted once); one runs for about two seconds, so scrapes see a download in progress.
    files[5] = await origin.randomFile('metrics-cut.bin', 200_000);
    files[19] = await origin.randomFile('metrics-slow.bin', 256 * 1024);
    const hook = receiver(origin, '/metrics/hook', 500, 200);
    const refusing = receiver(origin, '/metrics/refusing-hook', 500);
    const urls = files.map((file, i) => {
      const path = `/metrics/file-${i}.bin`;
      // One answers 503 once: a retry.
      if (i === 1) return origin.route(path, status(503), serveFile(file));
      // Paced, so the worker has taken in what came before the cut: bytes still buffered in the response
      // stream when the connection drops are lost with it, and a busy worker would have nothing to resume.
      if (i === 5)
        return origin.route(path, serveFile(file, { etag: '"v1"', closeAfterBytes: 100_000, bytesPerSecond: 1024 * 1024 }), serveFile(file, { etag: '"v1"' }));
      return origin.route(path, serveFile(file, i === 19 ? { bytesPerSecond: 128 * 1024 } : {}));
    });
    // One is fetched with a secret header and query value; two call back (the first callback is answered 500), one calls a receiver that always refuses.
    const requests = urls.map((url, i) => ({
      url: i === 2 ? `${url}?token=${SECRET_QUERY}` : url,
      ...(i === 2 ? { headers: { Authorization: SECRET_HEADER } } : {}),
      ...(i === 3 || i === 4 ? { callbackUrl: hook.url } : {}),
      ...(i === 6 ? { callbackUrl: refusing.url } : {}),
    }));
    const missing = [0, 1, 2].map((i) => origin.route(`/metrics/missing-${i}.bin`, status(404)));
    const ids = await Promise.all([...requests.map((request) => ferry.enqueue(request)), ...missing.map((url) => ferry.enqueue({ url }))]);
    const finals = await Promise.all(ids.map((id) => ferry.waitFor(id)));
    expect(finals.map((final) => final.state)).toEqual([...Array(20).fill('completed'), 'failed', 'failed', 'failed']);
    expect(finals.slice(20).map((final) => final.error?.code)).toEqual(Array(3).fill('FERRY_ERR_ORIGIN_REJECTED'));

    // The callbacks end after their downloads; then one more scrape of everything, after the end.
    await until(() => hook.deliveries.filter((d) => d.answered === 200).length === 2, 'both callbacks to be delivered');
    await until(async () => (await prometheus.value('sum(ferry_callback_deliveries_total{outcome="failed"})')) === 1, 'the refused callback to fail for good');
    await scrapedFromNow();

    expect(byLabel(await prometheus.query('up'), 'job')).toEqual({ 'ferry-api': 1, 'ferry-worker': 1 });
    expect(await prometheus.value('sum(up)')).toBe(3);
    expect(await prometheus.value('sum(ferry_downloads_finished_total{outcome="completed"})')).toBe(20);
    expect(byLabel(await prometheus.query('sum by (code) (ferry_downloads_finished_total{outcome="failed"})'), 'code')).toEqual({
      FERRY_ERR_ORIGIN_REJECTED: 3,
    });
    expect(byLabel(await prometheus.query('sum by (outcome) (ferry_download_attempts_total)'), 'outcome')).toEqual({ completed: 20, failed: 5 });
    const retries = await prometheus.query('sum by (code) (ferry_download_retries_total)');
    expect(sum(retries)).toBe(2);
    for (const retry of retries) expect(ERROR_CODES[retry.metric['code'] as ErrorCode].retryable, retry.metric['code']).toBe(true);
    // It really resumed: the second request asked for the rest only.
    expect(Number(/^bytes=(\d+)-$/.exec(stack.origin.requests('/metrics/file-5.bin')[1]?.headers.range ?? '')?.[1])).toBeGreaterThan(0);
    expect(await prometheus.value('sum(ferry_download_received_bytes_total)')).toBe(files.reduce((total, file) => total + file.size, 0));
    expect(await prometheus.value('sum(ferry_download_attempt_duration_seconds_count)')).toBe(25);
    expect(await prometheus.value('sum(ferry_download_queue_wait_seconds_count)')).toBe(23);
    expect(await prometheus.value('sum(ferry_download_attempt_duration_seconds_sum{outcome="completed"})')).toBeGreaterThan(1);
    expect(await prometheus.value('sum(ferry_downloads_active)')).toBe(0);
    expect(await prometheus.value('sum(max_over_time(ferry_downloads_active[5m]))')).toBeGreaterThan(0);
    expect(await prometheus.value('sum(ferry_worker_download_slots)')).toBe(6);
    expect(byLabel(await prometheus.query('sum by (outcome) (ferry_callback_deliveries_total)'), 'outcome')).toEqual({ delivered: 2, retried: 2, failed: 1 });

    // Queue depth comes from the API alone, read once per scrape.
    const depth = await prometheus.query('ferry_queue_jobs');
    expect(new Set(depth.map((s) => s.metric['job']))).toEqual(new Set(['ferry-api']));
    const downloads = byLabel(
      depth.filter((s) => s.metric['queue'] === 'downloads'),
      'state',
    );
    expect(downloads).toEqual({ waiting: 0, paused: 0, active: 0, prioritized: 0, delayed: 0, 'waiting-children': 0, completed: 20, failed: 3 });
    const callbacks = byLabel(
      depth.filter((s) => s.metric['queue'] === 'callbacks'),
      'state',
    );
    expect(callbacks).toEqual({ ...downloads, completed: 2, failed: 1 });

    // Redis latency from every process; Node's default metrics from every process.
    const redis = await prometheus.query('sum by (job) (ferry_redis_command_duration_seconds_count)');
    expect(Object.keys(byLabel(redis, 'job')).sort()).toEqual(['ferry-api', 'ferry-worker']);
    for (const sample of redis) expect(sample.value).toBeGreaterThan(0);
    expect(await prometheus.value('count(ferry_redis_command_duration_seconds_count{command="evalsha"})')).toBeGreaterThan(0);
    // BullMQ's workers wait for jobs with blocking commands, and the API reads its event stream with BLOCK: idleness, not latency.
    const commands = (await prometheus.query('ferry_redis_command_duration_seconds_count')).map((sample) => sample.metric['command']);
    expect(commands.filter((command) => /^(b[lrz]|xread)/.test(command ?? ''))).toEqual([]);
    expect(await prometheus.value('count(process_cpu_seconds_total)')).toBe(3);
    expect(sum(await prometheus.query('nodejs_heap_size_used_bytes'))).toBeGreaterThan(0);

    // The alerting rules load and evaluate against these series.
    const { groups } = await prometheus.api<{ groups: { rules: { name: string; health: string; lastError?: string }[] }[] }>('rules');
    const rules = groups.flatMap((group) => group.rules);
    expect(rules.length).toBeGreaterThan(5);
    await until(async () => {
      const { groups: now } = await prometheus.api<{ groups: { rules: { health: string }[] }[] }>('rules');
      return now.flatMap((group) => group.rules).every((rule) => rule.health === 'ok');
    }, 'every rule to have been evaluated without error');
    // The callback given up on fires its alert (it has no `for`); with both workers up, the no-worker alert does not.
    const alerts = async () => (await prometheus.api<{ alerts: { labels: { alertname: string }; state: string }[] }>('alerts')).alerts;
    await until(
      async () => (await alerts()).some((a) => a.labels.alertname === 'FerryCallbackDeliveriesFailing' && a.state === 'firing'),
      'the callback alert to fire',
    );
    expect((await alerts()).filter((alert) => alert.labels.alertname === 'FerryNoWorkers')).toEqual([]);

    for (const url of [`${stack.ferry.baseUrl}/metrics`, ...workerPorts.map((port) => `http://127.0.0.1:${port}/metrics`)]) {
      const response = await fetch(url, { headers: bearer(TOKEN) });
      expect(response.status).toBe(200);
      texts.push(await response.text());
    }
  });

  it('shows no secret, URL, host, header or API key in any metrics text', () => {
    expect(texts).toHaveLength(3);
    const { origin } = stack;
    for (const text of texts) {
      for (const secret of [
        TOKEN,
        API_KEY,
        OTHER_API_KEY,
        WEBHOOK_SECRET,
        HEADERS_KEY,
        SECRET_HEADER,
        SECRET_QUERY,
        'header-value',
        origin.baseUrl,
        hostOf(origin.baseUrl),
        '/metrics/file-',
      ]) {
        expect(text, secret).not.toContain(secret);
      }
      // Every label is one of the bounded few; no value names a job, a URL or a key.
      const labels = new Set([...text.matchAll(/[{,]([a-zA-Z_]+)="/g)].map((match) => match[1]));
      for (const label of labels)
        expect([
          'outcome',
          'code',
          'queue',
          'state',
          'command',
          'limit',
          'status',
          'le',
          'version',
          'major',
          'minor',
          'patch',
          'space',
          'kind',
          'type',
        ]).toContain(label);
      expect(text).not.toMatch(/owner|[0-9a-f]{8}-[0-9a-f]{4}-/);
    }
  });
});

describe('when a running download is cancelled', () => {
  it('counts it once as cancelled, its attempt as failed, and the bytes it received', async () => {
    const { origin, ferry } = stack;
    const before = {
      attempts: (await prometheus.value('sum(ferry_download_attempts_total{outcome="failed"})')) ?? 0,
      bytes: (await prometheus.value('sum(ferry_download_received_bytes_total)')) ?? 0,
    };
    const file = await origin.randomFile('metrics-cancelled.bin', 1024 * 1024);
    const id = await ferry.enqueue({ url: origin.route('/metrics/cancelled.bin', serveFile(file, { bytesPerSecond: 128 * 1024 })) });
    await receivedAtLeast(ferry, id, 64 * 1024);
    expect((await ferry.request('DELETE', `/v1/downloads/${id}`)).status).toBe(200);
    const final = await ferry.waitFor(id, ['cancelled']);
    await scrapedFromNow();

    expect(byLabel(await prometheus.query('sum by (code) (ferry_downloads_finished_total{outcome="cancelled"})'), 'code')).toEqual({ FERRY_ERR_CANCELLED: 1 });
    expect(await prometheus.value('sum(ferry_download_attempts_total{outcome="failed"})')).toBe(before.attempts + 1);
    expect(await prometheus.value('sum(ferry_download_received_bytes_total)')).toBe(before.bytes + final.progress.receivedBytes);
    expect(final.progress.receivedBytes).toBeGreaterThan(0);
  });
});

describe('when a scraper has no metrics token', () => {
  it('refuses /metrics on the API and on a worker without the token, or with a wrong one', async () => {
    const targets = [`${stack.ferry.baseUrl}/metrics`, `http://127.0.0.1:${workerPorts[0]}/metrics`];
    for (const url of targets) {
      for (const headers of [{}, bearer('not-the-metrics-token-at-all-0000'), bearer(API_KEY)]) {
        const response = await fetch(url, { headers });
        expect(response.status, url).toBe(401);
        expect(response.headers.get('www-authenticate')).toBe('Bearer realm="Ferry metrics"');
        expect(await response.text()).not.toContain('ferry_');
      }
    }
    const api = await fetch(targets[0]!);
    expect(((await api.json()) as { code: string }).code).toBe('FERRY_ERR_UNAUTHORIZED');
  });
});

describe('when no metrics token is set', () => {
  it('does not serve /metrics on the API port, and serves it on FERRY_API_METRICS_PORT, which serves nothing else', async () => {
    const port = await freePort();
    const ferry = await Ferry.start(stack.redis.url, { FERRY_API_METRICS_PORT: String(port) });
    try {
      const onApiPort = await fetch(`${ferry.baseUrl}/metrics`);
      expect(onApiPort.status).toBe(404);
      const body = (await onApiPort.json()) as { code: string; message: string };
      expect(body.code).toBe('FERRY_ERR_NOT_FOUND');
      expect(body.message).toContain('FERRY_METRICS_TOKEN');

      const separate = await fetch(`http://127.0.0.1:${port}/metrics`);
      expect(separate.status).toBe(200);
      expect(separate.headers.get('content-type')).toContain('text/plain');
      expect(await separate.text()).toMatch(/^ferry_queue_jobs\{queue="downloads",state="waiting"\} \d+$/m);
      expect((await fetch(`http://127.0.0.1:${port}/v1/downloads`, { headers: bearer(API_KEY) })).status).toBe(404);
    } finally {
      await ferry.close();
    }
    // Closed with the app.
    await expect(fetch(`http://127.0.0.1:${port}/metrics`)).rejects.toThrow();
  });
});

describe('when a worker cannot bind its metrics port', () => {
  it('does not start, and says which variable to change', async () => {
    // The first worker holds this port already.
    const taken = String(workerPorts[0]);
    await expect(stack.ferry.startWorker({ FERRY_WORKER_METRICS_PORT: taken })).rejects.toThrow(
      /cannot serve metrics on 127\.0\.0\.1:\d+ \(EADDRINUSE\): set FERRY_WORKER_METRICS_PORT to a free port/,
    );
  });
});

describe('when Redis does not answer a scrape', () => {
  it('still serves the metrics, without queue-depth samples rather than stale ones', async () => {
    const redis = await startTestRedis();
    const port = await freePort();
    const ferry = await Ferry.start(redis.url, { FERRY_API_METRICS_PORT: String(port) });
    try {
      const scrape = async () => {
        const response = await fetch(`http://127.0.0.1:${port}/metrics`);
        expect(response.status).toBe(200);
        return response.text();
      };
      expect(await scrape()).toMatch(/^ferry_queue_jobs\{queue="callbacks",state="failed"\} 0$/m);
      await redis.stop();
      const text = await scrape();
      expect(text).toContain('# TYPE ferry_queue_jobs gauge');
      expect(text).not.toMatch(/^ferry_queue_jobs\{/m);
      expect(text).toMatch(/^process_cpu_seconds_total \d/m);
    } finally {
      await ferry.close();
    }
  });
});
