// The peer bench/enqueue-path.mjs measures POST /v1/downloads against: a bare Fastify route that only
// calls queue.add on the same Redis, with Ferry's queue (same prefix, retention and retry options).
// No authentication, rate limit, validation, index or idempotency. Run in its own process:
//   node bench/bare-enqueue-route.mjs <redis url>
// Sends { type: 'ready', address } over IPC once it listens.
import path from 'node:path';
import { randomUUID } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import Fastify from 'fastify';

const ROOT = path.join(path.dirname(fileURLToPath(import.meta.url)), '..');
const core = await import(path.join(ROOT, 'packages', 'core', 'dist', 'index.js'));

const config = core.loadConfig({ REDIS_URL: process.argv[2], FERRY_LOG_LEVEL: 'warn' });
const queue = core.createDownloadQueue(config, core.createProducerRedis(config.redis));
await queue.waitUntilReady();
const app = Fastify({ logger: false });
app.post('/v1/downloads', async (request, reply) => {
  const id = randomUUID();
  await queue.add(core.DOWNLOAD_JOB, { owner: 'bench', request: request.body }, { jobId: id });
  return reply.code(202).send({ id });
});
const address = await app.listen({ host: '127.0.0.1', port: 0 });
process.send?.({ type: 'ready', address });
process.once('SIGTERM', async () => {
  await app.close();
  await queue.close();
  process.exit(0);
});
