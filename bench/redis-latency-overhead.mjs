// What measuring every Redis command (ferry_redis_command_duration_seconds, via ioredis's
// diagnostics_channel tracing) costs: the same sequential GETs against a private redis-server,
// with and without the histogram subscribed, alternating so neither always runs first.
// Prints this process's CPU time per command of each (less disturbed by other load on the machine
// than wall time, and where the cost lands) and commands per second, with their ratios. No pass or fail threshold.
import os from 'node:os';
import path from 'node:path';
import { mkdtemp, rm } from 'node:fs/promises';
import { Redis } from 'ioredis';
import { startRedisServer } from '@ferry/launcher/redis-server';
import { createWorkerMetrics } from '@ferry/core';
import { median } from './median.mjs';

const COMMANDS = Number(process.argv[2] ?? 20_000);
const ROUNDS = 6;

const dir = await mkdtemp(path.join(os.tmpdir(), 'ferry-bench-redis-'));
const server = await startRedisServer({ dir, appendonly: false });
const redis = new Redis(server.url);
try {
  await redis.set('bench', 'x');
  const run = async () => {
    const started = performance.now();
    const cpu = process.cpuUsage();
    for (let i = 0; i < COMMANDS; i += 1) await redis.get('bench');
    const { user, system } = process.cpuUsage(cpu);
    return { perSecond: COMMANDS / ((performance.now() - started) / 1000), cpuMicros: (user + system) / COMMANDS };
  };
  await run(); // warm-up
  const plain = [];
  const measured = [];
  for (let round = 0; round < ROUNDS; round += 1) {
    const order = round % 2 === 0 ? ['measured', 'plain'] : ['plain', 'measured'];
    for (const kind of order) {
      if (kind === 'plain') {
        plain.push(await run());
        continue;
      }
      // A worker's whole registry, as main.ts builds it: the histogram subscribes, close() unsubscribes.
      const metrics = createWorkerMetrics(1);
      measured.push(await run());
      metrics.close();
    }
  }
  const of = (runs, key) => median(runs.map((r) => r[key]));
  const cpu = [of(plain, 'cpuMicros'), of(measured, 'cpuMicros')];
  const rate = [of(plain, 'perSecond'), of(measured, 'perSecond')];
  console.log(`sequential GETs, ${COMMANDS} per run, ${ROUNDS} runs each (medians):`);
  console.log(`  without the histogram: ${cpu[0].toFixed(1)} µs CPU per command, ${rate[0].toFixed(0)} commands/s`);
  console.log(`  with the histogram:    ${cpu[1].toFixed(1)} µs CPU per command, ${rate[1].toFixed(0)} commands/s`);
  console.log(`  ratio (with / without): CPU ${(cpu[1] / cpu[0]).toFixed(3)}, commands/s ${(rate[1] / rate[0]).toFixed(3)}`);
} finally {
  redis.disconnect();
  await server.stop();
  await rm(dir, { recursive: true, force: true });
}
