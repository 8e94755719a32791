import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Ferry } from '../support/ferry.js';
import { pathOf, sha256File } from '../support/files.js';
import { serveFile, TestOrigin, type RandomFile } from '../support/origin.js';
import { startSentinelSetup, MASTER_NAME, type SentinelSetup } from '../support/redis-sentinel.js';
import { until } from '../support/wait.js';

let setup: SentinelSetup;
let origin: TestOrigin;
let ferry: Ferry;
let file: RandomFile;

beforeAll(async () => {
  setup = await startSentinelSetup();
  origin = await TestOrigin.start();
  file = await origin.randomFile('sentinel.bin', 128 * 1024);
  ferry = await Ferry.start(undefined, {
    FERRY_REDIS_SENTINELS: setup.sentinelsEnv,
    FERRY_REDIS_SENTINEL_MASTER: MASTER_NAME,
    // Acknowledged means a replica has it: the master may die the moment after.
    FERRY_REDIS_WAIT_REPLICAS: '1',
    FERRY_REDIS_WAIT_TIMEOUT_MS: '500',
    FERRY_WORKER_CONCURRENCY: '4',
    // The outage is on purpose: its warnings (one per refused request) would drown the test's output.
    FERRY_LOG_LEVEL: 'error',
  });
  await ferry.startWorker();
  await ferry.startWorker();
}, 60_000);

afterAll(async () => {
  await ferry?.close();
  await origin?.close();
  await setup?.stop();
});

describe('with FERRY_REDIS_WAIT_REPLICAS=1', () => {
  it('answers 503 instead of 202 while no replica confirms a new download, and the retry with its Idempotency-Key 200 once one does', async () => {
    const request = { url: origin.route('/s-wait.bin', serveFile(file)) };
    // A stopped replica takes no part in replication: the master alone holds the write.
    process.kill(setup.replica.pid, 'SIGSTOP');
    try {
      const refused = await ferry.request<{ code: string; message: string }>('POST', '/v1/downloads', request, { 'idempotency-key': 'wait' });
      expect(refused.status).toBe(503);
      expect(refused.body.code).toBe('FERRY_ERR_REDIS_UNAVAILABLE');
      expect(refused.body.message).toContain('only 0 of 1 replicas confirmed it');
      // Its retry finds the job the master holds, but no replica does yet: still not acknowledged.
      expect((await ferry.request('POST', '/v1/downloads', request, { 'idempotency-key': 'wait' })).status).toBe(503);
    } finally {
      process.kill(setup.replica.pid, 'SIGCONT');
    }
    let accepted: { status: number; body: { id: string } } | undefined;
    await until(async () => {
      accepted = await ferry.request<{ id: string }>('POST', '/v1/downloads', request, { 'idempotency-key': 'wait' });
      // The job the refused request added is the one the retry answers with.
      return accepted.status === 200;
    }, 'the replica to confirm again');
    expect((await ferry.waitFor(accepted!.body.id)).state).toBe('completed');
  });
});

describe('behind three sentinels, when the master is killed while downloads run', () => {
  it('reconnects the API and the workers to the promoted replica, and completes every download it acknowledged', async () => {
    const firstPort = setup.master.port;
    const acknowledged: string[] = [];
    const refused: number[] = [];
    let producing = true;
    let n = 0;
    // Each download takes about half a second, so some are running whenever the master dies.
    const producer = (async () => {
      while (producing) {
        n += 1;
        const url = origin.route(`/s-${n}.bin`, serveFile(file, { bytesPerSecond: 256 * 1024 }));
        const response = await ferry.request<{ id: string }>('POST', '/v1/downloads', { url }).catch(() => ({ status: 0, body: { id: '' } }));
        if (response.status === 202) acknowledged.push(response.body.id);
        else refused.push(response.status);
        await sleep(40);
      }
    })();

    await until(() => acknowledged.length >= 20, '20 acknowledged downloads');
    process.kill(setup.master.pid, 'SIGKILL');
    await setup.master.exited;
    const ackedBeforeKill = acknowledged.length;
    await until(async () => (await setup.masterPort()) === setup.replica.port, 'the sentinels to promote the replica', 30_000);
    // The old master comes back as a replica of the new one, so WAIT 1 can be met again.
    await setup.restartFirstMaster();
    await until(() => acknowledged.length >= ackedBeforeKill + 20, '20 downloads acknowledged after the failover', 60_000);
    producing = false;
    await producer;

    for (const id of acknowledged) {
      const done = await ferry.waitFor(id, ['completed', 'failed'], 90_000);
      expect(done.state, `download ${id}: ${JSON.stringify(done)}`).toBe('completed');
      expect(await sha256File(pathOf(done.result!.location))).toBe(file.sha256);
    }
    expect(await setup.masterPort()).not.toBe(firstPort);
    // What the outage cost callers: refusals (503 while no master or no replica answered), never a lost acknowledgement.
    expect(refused.every((status) => status === 503 || status === 0)).toBe(true);
    console.info(`sentinel failover: ${acknowledged.length} acknowledged and completed, ${refused.length} refused during the failover`);
  }, 180_000);
});
