import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Ferry } from '../support/ferry.js';
import { pathOf, sha256File } from '../support/files.js';
import { serveFile, TestOrigin } from '../support/origin.js';
import { startTlsRedis, type TlsRedis } from '../support/redis-tls.js';

const USER = 'ferry-app';
const PASSWORD = 'tls-acl-S3cret-pw-4d1f';

let redis: TlsRedis;
let origin: TestOrigin;
let ferry: Ferry;

beforeAll(async () => {
  redis = await startTlsRedis(USER, PASSWORD);
  origin = await TestOrigin.start();
  // Debug logs say the most, so a password that leaks anywhere would show.
  ferry = await Ferry.start(`rediss://${USER}:${PASSWORD}@127.0.0.1:${redis.tlsPort}`, { FERRY_REDIS_TLS_CA_FILE: redis.caFile, FERRY_LOG_LEVEL: 'debug' });
}, 60_000);

afterAll(async () => {
  await ferry?.close();
  await origin?.close();
  await redis?.stop();
});

const downloadThrough = async (name: string) => {
  const file = await origin.randomFile(name, 200_000);
  const done = await ferry.waitFor(await ferry.enqueue({ url: origin.route(`/${name}`, serveFile(file)) }));
  expect(done.state).toBe('completed');
  expect(await sha256File(pathOf(done.result!.location))).toBe(file.sha256);
};

describe('a Redis that speaks only TLS, with an ACL user and the default user off', () => {
  it('serves downloads end to end, the user and password in a rediss:// URL, the CA from FERRY_REDIS_TLS_CA_FILE', async () => {
    const worker = await ferry.startWorker();
    await downloadThrough('tls-1.bin');
    await downloadThrough('tls-2.bin');
    expect(worker.logs()).not.toContain(PASSWORD);
    worker.child.kill('SIGTERM');
    await worker.exited;
  });

  it('serves them with the credentials in FERRY_REDIS_USERNAME and FERRY_REDIS_PASSWORD instead', async () => {
    const worker = await ferry.startWorker({ REDIS_URL: `rediss://127.0.0.1:${redis.tlsPort}`, FERRY_REDIS_USERNAME: USER, FERRY_REDIS_PASSWORD: PASSWORD });
    await downloadThrough('tls-3.bin');
    expect(worker.logs()).not.toContain(PASSWORD);
  });

  it('stops a worker and an API whose password is wrong at start-up, saying what to check, and shows neither password', async () => {
    const wrong = { REDIS_URL: `rediss://${USER}:not-${PASSWORD}@127.0.0.1:${redis.tlsPort}` };
    for (const start of [() => ferry.startWorker(wrong), () => ferry.startApi(wrong)]) {
      const failure = await start().then(
        () => undefined,
        (err: Error) => err.message,
      );
      expect(failure).toContain('exited with 1 before it was ready');
      expect(failure).toContain("Redis refused Ferry's login (WRONGPASS");
      expect(failure).toContain('FERRY_REDIS_PASSWORD');
      expect(failure).not.toContain(PASSWORD);
    }
  });

  it('stops a worker at start-up that does not trust the CA of the certificate, and says how to trust it', async () => {
    const failure = await ferry.startWorker({ FERRY_REDIS_TLS_CA_FILE: '' }).then(
      () => undefined,
      (err: Error) => err.message,
    );
    expect(failure).toContain("Redis's TLS certificate is not trusted (SELF_SIGNED_CERT_IN_CHAIN");
    expect(failure).toContain('FERRY_REDIS_TLS_CA_FILE');
  });
});
