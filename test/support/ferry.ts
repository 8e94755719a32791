import { fork, type ChildProcess } from 'node:child_process';
import { createHmac } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Queue } from 'bullmq';
import type { FastifyInstance } from 'fastify';
import { createServer } from '@ferry/api';
import { TEST_EGRESS_ENV } from './origin.js';
import { type DownloadState, type DownloadStatus } from '@ferry/contract';
import { createDownloadQueue, createProducerRedis, hashApiKey, loadConfig } from '@ferry/core';

export const DASHBOARD_PASSWORD = 'test-dashboard-password';
/** Two callers: requests go out as `test` unless a test says otherwise. */
export const API_KEY = 'fry_test-key-for-the-end-to-end-suites';
export const OTHER_API_KEY = 'fry_other-key-that-owns-other-jobs';
export const bearer = (key: string) => ({ authorization: `Bearer ${key}` });
export const WEBHOOK_SECRET = 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw';
/**
 * The secret a key's receiver verifies with, derived as the README says (HMAC-SHA256 keyed with the bytes of
 * a FERRY_WEBHOOK_SECRETS entry, over the key name), written out here apart from Ferry's own code.
 */
export const keyWebhookSecret = (keyName: string, secret = WEBHOOK_SECRET) =>
  `whsec_${createHmac('sha256', Buffer.from(secret.replace(/^whsec_/, ''), 'base64'))
    .update(keyName)
    .digest('base64')}`;
/** The suites' FERRY_HEADERS_ENCRYPTION_KEYS entry (32 bytes of base64). */
export const HEADERS_KEY = `test:${Buffer.alloc(32, 7).toString('base64')}`;

/** Settings that keep retries and stalled-job recovery fast enough for a test, and logs quiet. */
const TEST_ENV = {
  NODE_ENV: 'test',
  FERRY_LOG_LEVEL: 'warn',
  FERRY_API_PORT: '0',
  FERRY_BACKOFF_BASE_MS: '100',
  FERRY_BACKOFF_MAX_MS: '500',
  FERRY_WORKER_LOCK_DURATION_MS: '3000',
  FERRY_WORKER_STALLED_INTERVAL_MS: '1000',
  FERRY_SHUTDOWN_DEADLINE_MS: '5000',
  FERRY_DASHBOARD_PASSWORD: DASHBOARD_PASSWORD,
  FERRY_API_KEYS: `test:${hashApiKey(API_KEY)},other:${hashApiKey(OTHER_API_KEY)}`,
  FERRY_WEBHOOK_SECRETS: WEBHOOK_SECRET,
  FERRY_HEADERS_ENCRYPTION_KEYS: HEADERS_KEY,
  FERRY_CALLBACK_BACKOFF_BASE_MS: '100',
  // Suites that script 429s with a long Retry-After would close their shared origin to the rest of the file; the limits suite turns cooldowns on.
  FERRY_HOST_COOLDOWN_MAX_MS: '0',
  // Suites poll the API far faster than any caller should; the rate-limit suite sets its own limit.
  FERRY_API_RATE_LIMIT: '1000000',
  // Suites send wrong keys and passwords on purpose; the auth suite sets its own limit.
  FERRY_AUTH_FAILURE_LIMIT: '1000000',
  ...TEST_EGRESS_ENV,
} as const;

export interface WorkerProcess {
  readonly child: ChildProcess;
  readonly exited: Promise<number | null>;
  logs(): string;
}

export interface ApiProcess extends WorkerProcess {
  readonly baseUrl: string;
}

export interface ApiResponse<T = unknown> {
  readonly status: number;
  readonly headers: Headers;
  readonly body: T;
}

export class Ferry {
  readonly workers: WorkerProcess[] = [];
  readonly apis: ApiProcess[] = [];

  private constructor(
    readonly env: Record<string, string>,
    readonly storageDir: string,
    readonly queue: Queue,
    readonly app: FastifyInstance,
    readonly baseUrl: string,
    private readonly cleanup: () => Promise<void>,
  ) {}

  /**
   * The real API, in this process on a real port, against `redisUrl` (or the Redis
   * `env` describes: a cluster, sentinels); workers are separate processes.
   */
  static async start(redisUrl: string | undefined, env: Record<string, string> = {}): Promise<Ferry> {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'ferry-test-'));
    const storageDir = path.join(dir, 'files');
    // An empty REDIS_URL counts as unset, also in the workers' environment, which starts from this process's.
    const fullEnv = { ...TEST_ENV, REDIS_URL: redisUrl ?? '', FERRY_DATA_DIR: dir, FERRY_STORAGE_DIR: storageDir, ...env };
    const config = loadConfig(fullEnv);
    const redis = createProducerRedis(config.redis);
    redis.on('error', () => undefined);
    const queue = createDownloadQueue(config, redis);
    queue.on('error', () => undefined);
    await queue.waitUntilReady();
    const app = await createServer({ config, queue, redis, dashboardPassword: DASHBOARD_PASSWORD });
    const baseUrl = await app.listen({ host: '127.0.0.1', port: 0 });
    return new Ferry(fullEnv, storageDir, queue, app, baseUrl, async () => {
      await app.close();
      await queue.close();
      redis.disconnect();
      await rm(dir, { recursive: true, force: true });
    });
  }

  /** Starts `node apps/worker/dist/main.js` as a user would, and waits until it is ready. */
  async startWorker(env: Record<string, string> = {}): Promise<WorkerProcess> {
    const { started } = await this.#fork('../../apps/worker/dist/main.js', env);
    this.workers.push(started);
    return started;
  }

  /**
   * Starts another API, `node apps/api/dist/main.js`, against the same Redis: a second replica beside the
   * in-process one. Closed with SIGTERM, as an orchestrator would, by `close()`.
   */
  async startApi(env: Record<string, string> = {}): Promise<ApiProcess> {
    const { started, ready } = await this.#fork('../../apps/api/dist/main.js', env);
    const api = { ...started, baseUrl: String((ready as { address?: unknown }).address) };
    this.apis.push(api);
    return api;
  }

  async #fork(script: string, env: Record<string, string>): Promise<{ started: WorkerProcess; ready: unknown }> {
    const main = fileURLToPath(new URL(script, import.meta.url));
    const child = fork(main, [], { env: { ...process.env, ...this.env, ...env }, stdio: ['ignore', 'pipe', 'pipe', 'ipc'] });
    let output = '';
    child.stdout?.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.stderr?.on('data', (chunk: Buffer) => (output += chunk.toString()));
    const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
    const ready = await new Promise<unknown>((resolve, reject) => {
      child.on('message', (message) => {
        if ((message as { type?: string }).type === 'ready') resolve(message);
      });
      void exited.then((code) => reject(new Error(`${script} exited with ${code} before it was ready:\n${output}`)));
    });
    return { started: { child, exited, logs: () => output }, ready };
  }

  async request<T = unknown>(method: string, urlPath: string, body?: unknown, headers: Record<string, string> = {}): Promise<ApiResponse<T>> {
    const init: RequestInit = { method, headers: { ...bearer(API_KEY), ...headers } };
    if (body !== undefined) {
      init.body = typeof body === 'string' ? body : JSON.stringify(body);
      (init.headers as Record<string, string>)['content-type'] ??= 'application/json';
    }
    const response = await fetch(`${this.baseUrl}${urlPath}`, init);
    const text = await response.text();
    let parsed: unknown = text;
    try {
      parsed = JSON.parse(text);
    } catch {
      // Not JSON (e.g. the dashboard's HTML): keep the text.
    }
    return { status: response.status, headers: response.headers, body: parsed as T };
  }

  /** Where a key's published files are: `<storage>/<key name>` (the test keys' names are plain). */
  filesOf(keyName = 'test'): string {
    return path.join(this.storageDir, keyName);
  }

  async enqueue(body: unknown, key = API_KEY): Promise<string> {
    const response = await this.request<{ id: string }>('POST', '/v1/downloads', body, bearer(key));
    if (response.status !== 202) throw new Error(`enqueue answered ${response.status}: ${JSON.stringify(response.body)}`);
    return response.body.id;
  }

  async status(id: string, key = API_KEY): Promise<DownloadStatus> {
    const response = await this.request<DownloadStatus>('GET', `/v1/downloads/${id}`, undefined, bearer(key));
    if (response.status !== 200) throw new Error(`status of ${id} answered ${response.status}: ${JSON.stringify(response.body)}`);
    return response.body;
  }

  /** Polls the API until the download reaches one of `states`. */
  async waitFor(id: string, states: DownloadState[] = ['completed', 'failed'], timeoutMs = 60_000, key = API_KEY): Promise<DownloadStatus> {
    const deadline = Date.now() + timeoutMs;
    let last: DownloadStatus | undefined;
    while (Date.now() < deadline) {
      last = await this.status(id, key);
      if (states.includes(last.state)) return last;
      await sleep(50);
    }
    const logs = this.workers.map((w, i) => `--- worker ${i}\n${w.logs()}`).join('\n');
    throw new Error(`download ${id} did not reach ${states.join('/')} in ${timeoutMs} ms; last: ${JSON.stringify(last)}\n${logs}`);
  }

  #closing: Promise<void> | undefined;

  /** Kills the workers, stops the API processes gracefully and the in-process API; safe to call twice. */
  close(): Promise<void> {
    this.#closing ??= (async () => {
      for (const worker of this.workers) if (worker.child.exitCode === null) worker.child.kill('SIGKILL');
      for (const api of this.apis) if (api.child.exitCode === null) api.child.kill('SIGTERM');
      await Promise.all([...this.workers, ...this.apis].map((p) => p.exited));
      await this.cleanup();
    })();
    return this.#closing;
  }
}
