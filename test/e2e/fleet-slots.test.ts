import { setTimeout as sleep } from 'node:timers/promises';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { RedisServer } from '@ferry/launcher/redis-server';
import { createLogger, createWorkerMetrics, FleetLimits, type AcquireOutcome, type LimitsPolicy } from '@ferry/core';
// Not part of the worker's public surface: the one piece between the engine and these limits.
import { hostConnections } from '../../apps/worker/src/host-connections.js';
import { startTestRedis } from '../support/redis.js';
import { until } from '../support/wait.js';

// The Lua behind the fleet limits, against a real redis-server: no worker, no queue.
const PREFIX = '{slots}';
const HOST = 'files.example';
const NO_LIMITS: LimitsPolicy = {
  hostConcurrency: 0,
  hostOverrides: new Map(),
  hostRatePerSecond: 0,
  cooldownMaxMs: 60_000,
  keyConcurrency: 0,
  keyOverrides: new Map(),
  waitBaseMs: 100,
  waitMaxMs: 1000,
};

let server: RedisServer;
let redis: Redis;
const made: FleetLimits[] = [];
const limitsWith = (policy: Partial<LimitsPolicy>, ttlMs = 10_000) => {
  const limits = new FleetLimits(redis, PREFIX, { ...NO_LIMITS, ...policy }, ttlMs, undefined, () => 0.5);
  made.push(limits);
  return limits;
};
const jobKey = (n: number) => `${PREFIX}:downloads:${n}`;
const admitted = (admission: AcquireOutcome) => {
  if (admission === 'controlled' || !admission.admitted) throw new Error(`not admitted: ${JSON.stringify(admission)}`);
  return admission;
};
const waitOf = (admission: AcquireOutcome) => (admission !== 'controlled' && !admission.admitted ? admission.waitMs : -1);

beforeAll(async () => {
  server = await startTestRedis();
  redis = new Redis(server.url);
});
afterAll(async () => {
  for (const limits of made) limits.stop();
  redis.disconnect();
  await server.stop();
});
beforeEach(async () => {
  // A limiter renews what it holds: one left running would put its slots back after the flush.
  for (const limits of made.splice(0)) limits.stop();
  await redis.flushall();
});

describe('when a host is at its limit', () => {
  it('refuses the next download, records why on its job, and admits it once a slot is freed', async () => {
    const limits = limitsWith({ hostConcurrency: 2 });
    await redis.hset(jobKey(3), 'name', 'download');
    const a = admitted(await limits.acquire('1@t', jobKey(1), HOST, 'test'));
    admitted(await limits.acquire('2@t', jobKey(2), HOST, 'test'));
    const refused = await limits.acquire('3@t', jobKey(3), HOST, 'test');
    expect(refused).toMatchObject({ admitted: false, reason: 'host-limit' });
    expect(JSON.parse((await redis.hget(jobKey(3), 'ferryWait')) ?? '{}')).toMatchObject({ reason: 'host-limit', host: HOST });
    // Another host is not held up by this one.
    admitted(await limits.acquire('4@t', jobKey(4), 'other.example', 'test'));
    await limits.release(a, HOST, 'test', { kind: 'completed' });
    admitted(await limits.acquire('3@t', jobKey(3), HOST, 'test'));
    expect(await redis.hget(jobKey(3), 'ferryWait')).toBeNull();
  });

  it('doubles the wait of a download refused again and again, up to the maximum', async () => {
    const limits = limitsWith({ hostConcurrency: 1, waitBaseMs: 100, waitMaxMs: 400 });
    await redis.hset(jobKey(2), 'name', 'download');
    admitted(await limits.acquire('1@t', jobKey(1), HOST, 'test'));
    const waits: number[] = [];
    for (let i = 0; i < 4; i += 1) {
      const refused = await limits.acquire('2@t', jobKey(2), HOST, 'test');
      waits.push(waitOf(refused));
    }
    // Half fixed and half random (the random part is 0.5 here): 75 % of 100, 200, 400, 400.
    expect(waits).toEqual([75, 150, 300, 300]);
  });

  it('lets a job with a pause or cancel recorded through without a slot, for its processor to carry it out', async () => {
    const limits = limitsWith({ hostConcurrency: 1 });
    admitted(await limits.acquire('1@t', jobKey(1), HOST, 'test'));
    await redis.hset(jobKey(2), 'ferryControl', 'cancel');
    expect(await limits.acquire('2@t', jobKey(2), HOST, 'test')).toBe('controlled');
    expect(await redis.zcard(`${PREFIX}:limits:host-slots:${HOST}`)).toBe(1);
  });

  it('uses the per-host override instead of the default', async () => {
    const limits = limitsWith({ hostConcurrency: 1, hostOverrides: new Map([[HOST, 3]]) });
    for (let i = 1; i <= 3; i += 1) admitted(await limits.acquire(`${i}@t`, jobKey(i), HOST, 'test'));
    expect(await limits.acquire('4@t', jobKey(4), HOST, 'test')).toMatchObject({ admitted: false, reason: 'host-limit' });
    admitted(await limits.acquire('5@t', jobKey(5), 'other.example', 'test'));
    expect(await limits.acquire('6@t', jobKey(6), 'other.example', 'test')).toMatchObject({ admitted: false });
  });
});

describe('when a worker dies holding slots', () => {
  it('frees them once their TTL passes without renewal, and keeps renewed ones', async () => {
    const dead = limitsWith({ hostConcurrency: 2 }, 400);
    dead.stop(); // it renews nothing from now on, as a SIGKILLed worker
    const alive = limitsWith({ hostConcurrency: 2 }, 400);
    admitted(await dead.acquire('1@dead', jobKey(1), HOST, 'test'));
    admitted(await alive.acquire('2@alive', jobKey(2), HOST, 'test'));
    expect(await alive.acquire('3@alive', jobKey(3), HOST, 'test')).toMatchObject({ admitted: false });
    await sleep(900);
    // The dead worker's slot expired; the live one renewed its own every TTL / 3, so one slot is free, not two.
    admitted(await alive.acquire('3@alive', jobKey(3), HOST, 'test'));
    expect(await alive.acquire('4@alive', jobKey(4), HOST, 'test')).toMatchObject({ admitted: false });
  });
});

describe('when no limit can bind a download', () => {
  const slots = () => redis.zrange(`${PREFIX}:limits:host-slots:${HOST}`, 0, -1);

  it('admits a job that never waited without a slot, and frees nothing when it ends', async () => {
    const limits = limitsWith({});
    const a = admitted(await limits.acquire('1@t', jobKey(1), HOST, 'test', false));
    expect(await slots()).toEqual([]);
    expect(await limits.release(a, HOST, 'test', { kind: 'completed' })).toEqual({ loweredTo: undefined, cooldownMs: undefined });
    expect(await redis.keys('*')).toEqual([]);
  });

  it('takes a slot for a job that waited before, so its wait record is cleared', async () => {
    const limits = limitsWith({});
    await redis.hset(jobKey(1), 'ferryWait', '{}', 'ferryWaits', '2');
    admitted(await limits.acquire('1@t', jobKey(1), HOST, 'test'));
    expect(await slots()).toEqual(['1@t']);
    expect(await redis.hgetall(jobKey(1))).toEqual({});
  });

  it('records the slot of a download still running at the next renewal, and frees it at its end', async () => {
    const limits = limitsWith({}, 300);
    const a = admitted(await limits.acquire('1@t', jobKey(1), HOST, 'test', false));
    await until(async () => (await slots()).length === 1, 'the renewal to record the slot');
    await limits.release(a, HOST, 'test', { kind: 'completed' });
    expect(await slots()).toEqual([]);
  });

  it('takes the slot path once its host cools down, and a cut counts the downloads this worker runs without a slot', async () => {
    const limits = limitsWith({});
    const running = [];
    for (let i = 0; i < 6; i += 1) running.push(admitted(await limits.acquire(`${i}@t`, jobKey(i), HOST, 'test', false)));
    // Six in flight, none in Redis: the 429 halves six, as it would have with their slots recorded.
    expect(await limits.release(running[0]!, HOST, 'test', { kind: 'backpressure', status: 429, retryAfterMs: 1000 })).toEqual({
      loweredTo: 3,
      cooldownMs: 1000,
    });
    expect(await limits.acquire('6@t', jobKey(6), HOST, 'test', false)).toMatchObject({ admitted: false, reason: 'host-cooldown' });
    // Admitted before the cut: their backpressure is the same overload.
    expect(await limits.release(running[1]!, HOST, 'test', { kind: 'backpressure', status: 429, retryAfterMs: undefined })).toMatchObject({
      loweredTo: undefined,
    });
  });
});

describe('when a download asks for extra connections (its segments)', () => {
  it('gets only the slots free now, never waits, and gives each back on its own', async () => {
    const limits = limitsWith({ hostConcurrency: 3 });
    const a = admitted(await limits.acquire('1@t', jobKey(1), HOST, 'test'));
    const extras = await limits.acquireExtra(a, HOST, 'test', 3);
    expect(extras).toHaveLength(2);
    expect(await limits.acquireExtra(a, HOST, 'test', 3)).toEqual([]);
    // The host is full: a new download waits for the segments' slots too.
    expect(await limits.acquire('2@t', jobKey(2), HOST, 'test')).toMatchObject({ admitted: false, reason: 'host-limit' });
    await limits.releaseExtra(HOST, extras[0]!);
    admitted(await limits.acquire('2@t', jobKey(2), HOST, 'test'));
    expect(await redis.zcard(`${PREFIX}:limits:host-slots:${HOST}`)).toBe(3);
  });

  it('counts against a limit lowered by backpressure, and takes no API key slot', async () => {
    const limits = limitsWith({ hostConcurrency: 8, keyConcurrency: 1 });
    const a = admitted(await limits.acquire('1@t', jobKey(1), HOST, 'test'));
    await limits.release(a, HOST, 'test', { kind: 'backpressure', status: 503, retryAfterMs: undefined });
    const b = admitted(await limits.acquire('2@t', jobKey(2), HOST, 'test'));
    // One download in flight was cut to a limit of 1: no room for a second connection.
    expect(await limits.acquireExtra(b, HOST, 'test', 3)).toEqual([]);
    const other = admitted(await limits.acquire('3@t', jobKey(3), 'other.example', 'other'));
    expect(await limits.acquireExtra(other, 'other.example', 'other', 3)).toHaveLength(3);
  });

  it("lets them expire with the worker that died holding them, and keeps a live worker's renewed", async () => {
    const dead = limitsWith({ hostConcurrency: 4 }, 400);
    dead.stop();
    const alive = limitsWith({ hostConcurrency: 4 }, 400);
    expect(await dead.acquireExtra(admitted(await dead.acquire('1@dead', jobKey(1), HOST, 'test')), HOST, 'test', 1)).toHaveLength(1);
    const live = admitted(await alive.acquire('2@alive', jobKey(2), HOST, 'test'));
    expect(await alive.acquireExtra(live, HOST, 'test', 1)).toHaveLength(1);
    await sleep(900);
    // The dead worker's two slots expired; the live worker's two were renewed: two of four are free.
    expect(await alive.acquireExtra(live, HOST, 'test', 3)).toHaveLength(2);
  });
  it("grants none while the host is cooling down for the download's API key, and some again once it has cooled", async () => {
    const limits = limitsWith({ hostConcurrency: 3 });
    const a = admitted(await limits.acquire('1@t', jobKey(1), HOST, 'test'));
    const b = admitted(await limits.acquire('2@t', jobKey(2), HOST, 'test'));
    const c = admitted(await limits.acquire('3@t', jobKey(3), HOST, 'other'));
    // b's 429 closes the host to 'test' for 500 ms and cuts its limit to 1; c's completion raises it to 2: one slot free.
    await limits.release(b, HOST, 'test', { kind: 'backpressure', status: 429, retryAfterMs: 500 });
    await limits.release(c, HOST, 'other', { kind: 'completed' });
    expect(await limits.acquireExtra(a, HOST, 'test', 3)).toEqual([]);
    await sleep(600);
    expect(await limits.acquireExtra(a, HOST, 'test', 3)).toHaveLength(1);
  });

  it('gives back at once the slots granted after the download has ended, instead of holding them for the worker', async () => {
    const limits = limitsWith({ hostConcurrency: 3 });
    const a = admitted(await limits.acquire('1@t', jobKey(1), HOST, 'test'));
    const connections = hostConnections(limits, a, HOST, 'test', createLogger({ log: { level: 'silent', format: 'json' } }, 'test'));
    // The download ends (a pause) while Redis has yet to answer.
    const taking = connections.take(2);
    await connections.releaseRest();
    expect(await taking).toEqual([]);
    expect(await redis.zcard(`${PREFIX}:limits:host-slots:${HOST}`)).toBe(1);
  });
});

describe('when an API key is at its limit', () => {
  it('refuses that key only', async () => {
    const limits = limitsWith({ keyConcurrency: 1, keyOverrides: new Map([['big', 2]]) });
    admitted(await limits.acquire('1@t', jobKey(1), HOST, 'small'));
    expect(await limits.acquire('2@t', jobKey(2), HOST, 'small')).toMatchObject({ admitted: false, reason: 'key-limit' });
    admitted(await limits.acquire('3@t', jobKey(3), HOST, 'big'));
    admitted(await limits.acquire('4@t', jobKey(4), HOST, 'big'));
    expect(await limits.acquire('5@t', jobKey(5), HOST, 'big')).toMatchObject({ admitted: false, reason: 'key-limit' });
  });
});

describe('when an origin pushes back', () => {
  it('closes the host for its Retry-After, capped by the maximum, and never shortens a cooldown', async () => {
    const limits = limitsWith({ cooldownMaxMs: 2000 });
    const a = admitted(await limits.acquire('1@t', jobKey(1), HOST, 'test'));
    const b = admitted(await limits.acquire('2@t', jobKey(2), HOST, 'test'));
    expect(await limits.release(a, HOST, 'test', { kind: 'backpressure', status: 429, retryAfterMs: 30_000 })).toMatchObject({ cooldownMs: 2000 });
    expect(await limits.release(b, HOST, 'test', { kind: 'backpressure', status: 429, retryAfterMs: 500 })).toMatchObject({ cooldownMs: undefined });
    const refused = await limits.acquire('3@t', jobKey(3), HOST, 'test');
    expect(refused).toMatchObject({ admitted: false, reason: 'host-cooldown' });
    // The rest of the cooldown, plus up to 10 % (5 % with this jitter).
    const waitMs = waitOf(refused);
    expect(waitMs).toBeGreaterThan(1800);
    expect(waitMs).toBeLessThanOrEqual(2100);
    admitted(await limits.acquire('4@t', jobKey(4), 'other.example', 'test'));
  });

  it('halves the host limit once per round, floors it at 1, and raises it by one per limit’s worth of completed downloads', async () => {
    const limits = limitsWith({ hostConcurrency: 8 });
    const first = [];
    for (let i = 0; i < 8; i += 1) first.push(admitted(await limits.acquire(`a${i}@t`, jobKey(i), HOST, 'test')));
    expect(await limits.release(first[0]!, HOST, 'test', { kind: 'backpressure', status: 429, retryAfterMs: undefined })).toMatchObject({ loweredTo: 4 });
    // Admitted before the cut: the same overload, no second halving.
    expect(await limits.release(first[1]!, HOST, 'test', { kind: 'backpressure', status: 429, retryAfterMs: undefined })).toMatchObject({
      loweredTo: undefined,
    });
    for (const admission of first.slice(2)) await limits.release(admission, HOST, 'test', { kind: 'other' });

    const inFlight = async (n: number, tag: string) => {
      const taken = [];
      for (let i = 0; i < n; i += 1) taken.push(admitted(await limits.acquire(`${tag}${i}@t`, jobKey(100 + i), HOST, 'test')));
      expect(await limits.acquire(`${tag}x@t`, jobKey(99), HOST, 'test')).toMatchObject({ admitted: false, reason: 'host-limit' });
      return taken;
    };
    const four = await inFlight(4, 'b');
    // Four completions (one limit's worth) raise it to 5.
    for (const admission of four) await limits.release(admission, HOST, 'test', { kind: 'completed' });
    const five = await inFlight(5, 'c');
    expect(await limits.release(five[0]!, HOST, 'test', { kind: 'backpressure', status: 429, retryAfterMs: undefined })).toMatchObject({ loweredTo: 2 });
    for (const admission of five.slice(1)) await limits.release(admission, HOST, 'test', { kind: 'other' });
    const two = await inFlight(2, 'd');
    expect(await limits.release(two[0]!, HOST, 'test', { kind: 'backpressure', status: 429, retryAfterMs: undefined })).toMatchObject({ loweredTo: 1 });
    const one = await limits.acquire('e@t', jobKey(200), HOST, 'test');
    expect(one).toMatchObject({ admitted: false });
    await limits.release(two[1]!, HOST, 'test', { kind: 'other' });
    const last = admitted(await limits.acquire('e@t', jobKey(200), HOST, 'test'));
    expect(await limits.release(last, HOST, 'test', { kind: 'backpressure', status: 429, retryAfterMs: undefined })).toMatchObject({ loweredTo: 1 });
  });

  it('forgets the cut once the limit has grown back to the configured one', async () => {
    const limits = limitsWith({ hostConcurrency: 2 });
    const a = admitted(await limits.acquire('1@t', jobKey(1), HOST, 'test'));
    admitted(await limits.acquire('2@t', jobKey(2), HOST, 'test'));
    await limits.release(a, HOST, 'test', { kind: 'backpressure', status: 429, retryAfterMs: undefined });
    expect(await redis.hget(`${PREFIX}:limits:host-aimd:${HOST}`, 'limit')).toBe('1');
    await redis.del(`${PREFIX}:limits:host-slots:${HOST}`);
    const c = admitted(await limits.acquire('3@t', jobKey(3), HOST, 'test'));
    await limits.release(c, HOST, 'test', { kind: 'completed' });
    expect(await redis.exists(`${PREFIX}:limits:host-aimd:${HOST}`)).toBe(0);
  });
});

describe('when a host has a start rate', () => {
  it('spaces the starts of its downloads by 1 / rate', async () => {
    const limits = limitsWith({ hostRatePerSecond: 2 });
    admitted(await limits.acquire('1@t', jobKey(1), HOST, 'test'));
    const refused = await limits.acquire('2@t', jobKey(2), HOST, 'test');
    expect(refused).toMatchObject({ admitted: false, reason: 'host-rate' });
    await sleep(waitOf(refused));
    admitted(await limits.acquire('2@t', jobKey(2), HOST, 'test'));
  });
});

describe('keys', () => {
  it('are all under the queue prefix, so a {tag} prefix keeps every script in one cluster slot', async () => {
    const limits = limitsWith({ hostConcurrency: 1, keyConcurrency: 1, hostRatePerSecond: 1 });
    const a = admitted(await limits.acquire('1@t', jobKey(1), HOST, 'test'));
    await limits.release(a, HOST, 'test', { kind: 'backpressure', status: 429, retryAfterMs: 1000 });
    const keys = await redis.keys('*');
    expect(keys.length).toBeGreaterThan(0);
    for (const key of keys) expect(key.startsWith(`${PREFIX}:`)).toBe(true);
  });
});

describe('what the limits tell the metrics', () => {
  it('counts each wait by the limit that was full, and each cooldown by the status and the seconds it closed the host', async () => {
    const metrics = createWorkerMetrics(4);
    const limits = new FleetLimits(
      redis,
      PREFIX,
      { ...NO_LIMITS, hostConcurrency: 1, keyOverrides: new Map([['big', 1]]) },
      10_000,
      metrics.limiter,
      () => 0.5,
    );
    made.push(limits);
    try {
      const a = admitted(await limits.acquire('1@t', jobKey(1), HOST, 'test'));
      await limits.acquire('2@t', jobKey(2), HOST, 'test');
      admitted(await limits.acquire('3@t', jobKey(3), 'other.example', 'big'));
      await limits.acquire('4@t', jobKey(4), 'third.example', 'big');
      await limits.release(a, HOST, 'test', { kind: 'backpressure', status: 503, retryAfterMs: 3000 });
      const text = await metrics.registry.metrics();
      expect(text).toMatch(/^ferry_limiter_waits_total\{limit="host"\} 1$/m);
      expect(text).toMatch(/^ferry_limiter_waits_total\{limit="key"\} 1$/m);
      expect(text).toMatch(/^ferry_limiter_cooldown_seconds_count\{status="503"\} 1$/m);
      expect(text).toMatch(/^ferry_limiter_cooldown_seconds_sum\{status="503"\} 3$/m);
    } finally {
      metrics.close();
    }
  });
});

describe('when one API key meets a cooldown', () => {
  it('closes the host to that key alone: another key is not made to wait by what the first one fetched', async () => {
    const limits = limitsWith({ cooldownMaxMs: 60_000 });
    const a = admitted(await limits.acquire('1@t', jobKey(1), HOST, 'other'));
    await limits.release(a, HOST, 'other', { kind: 'backpressure', status: 429, retryAfterMs: 30_000 });
    expect(await limits.acquire('2@t', jobKey(2), HOST, 'other')).toMatchObject({ admitted: false, reason: 'host-cooldown' });
    admitted(await limits.acquire('3@t', jobKey(3), HOST, 'test'));
  });
});
