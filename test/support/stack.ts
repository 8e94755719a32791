import type { RedisServer } from '@ferry/launcher/redis-server';
import { afterAll, afterEach, beforeAll, beforeEach } from 'vitest';
import { Ferry } from './ferry.js';
import { TestOrigin } from './origin.js';
import { startTestRedis } from './redis.js';
import { ferryS3Env, startTestS3, type S3TestServer } from './s3.js';

export interface StackOptions {
  /** A fresh stack for every test instead of one per file. */
  readonly eachTest?: boolean;
  /** Worker processes to start with the API. */
  readonly workers?: number;
  /** Environment for the API and workers. */
  readonly env?: Record<string, string>;
  /** Store in a private S3 server (FERRY_STORAGE=s3) rather than on local disk. */
  readonly s3?: boolean;
}

export interface Stack {
  readonly redis: RedisServer;
  readonly origin: TestOrigin;
  readonly ferry: Ferry;
  /** The S3 server the stack stores in, with `s3: true`. */
  readonly s3: S3TestServer;
  /** Replaces the API (and its workers) with one started with `env`; it is closed with the rest. */
  restartFerry(env: Record<string, string>): Promise<Ferry>;
}

/**
 * What every end-to-end suite runs against: a private redis-server, a fixture
 * origin on 127.0.0.2 and Ferry's real API with real worker processes.
 */
export function useStack(options: StackOptions = {}): Stack {
  let redis: RedisServer | undefined;
  let origin: TestOrigin | undefined;
  let ferry: Ferry | undefined;
  let s3: S3TestServer | undefined;
  const envOf = (env: Record<string, string> = {}) => (s3 === undefined ? env : { ...ferryS3Env(s3), ...env });
  const started = <T>(value: T | undefined, what: string): T => {
    if (value === undefined) throw new Error(`the test stack's ${what} is not running`);
    return value;
  };

  const up = async () => {
    redis = await startTestRedis();
    origin = await TestOrigin.start();
    if (options.s3) s3 = await startTestS3();
    ferry = await Ferry.start(redis.url, envOf(options.env));
    for (let i = 0; i < (options.workers ?? 0); i += 1) await ferry.startWorker();
  };
  const down = async () => {
    await ferry?.close();
    await origin?.close();
    await redis?.stop();
    await s3?.close();
    ferry = origin = redis = s3 = undefined;
  };
  (options.eachTest ? beforeEach : beforeAll)(up);
  (options.eachTest ? afterEach : afterAll)(down);

  return {
    get redis() {
      return started(redis, 'redis-server');
    },
    get origin() {
      return started(origin, 'origin');
    },
    get ferry() {
      return started(ferry, 'API');
    },
    get s3() {
      return started(s3, 'S3 server');
    },
    async restartFerry(env) {
      await ferry?.close();
      ferry = await Ferry.start(started(redis, 'redis-server').url, envOf(env));
      return ferry;
    },
  };
}
