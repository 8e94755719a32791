// The peer bench/small-files.mjs measures Ferry against: a plain BullMQ queue and worker with undici,
// doing Ferry's durability steps and nothing else (no API, no progress, no control, no outbox):
// stream the body into a part file while hashing it (sha256), fsync, link(2) it under its name,
// unlink the part, fsync the directory. Run by small-files.mjs in its own process:
//   node bench/plain-bullmq-child.mjs <redis url> <queue prefix> <concurrency> <out dir> <url>...
// Prints one JSON line: { seconds, completed } from the first add to the last completed job.
import { createHash, randomBytes } from 'node:crypto';
import { link, mkdir, open, unlink } from 'node:fs/promises';
import path from 'node:path';
import { Queue, Worker } from 'bullmq';
import { Redis } from 'ioredis';
import { Agent, request } from 'undici';

const [redisUrl, prefix, concurrencyArg, outDir, ...urls] = process.argv.slice(2);
const concurrency = Number(concurrencyArg);
const partsDir = path.join(outDir, '.parts');
await mkdir(partsDir, { recursive: true });
const agent = new Agent({ connections: concurrency });

async function fsyncDir(dir) {
  const handle = await open(dir, 'r');
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}

async function download(url) {
  const part = path.join(partsDir, `${randomBytes(8).toString('hex')}.part`);
  const handle = await open(part, 'wx', 0o644);
  const hash = createHash('sha256');
  let bytes = 0;
  try {
    const { statusCode, body } = await request(url, { dispatcher: agent });
    if (statusCode !== 200) throw new Error(`${url} answered ${statusCode}`);
    for await (const chunk of body) {
      hash.update(chunk);
      await handle.write(chunk, 0, chunk.length, bytes);
      bytes += chunk.length;
    }
    await handle.sync();
  } finally {
    await handle.close();
  }
  await link(part, path.join(outDir, path.basename(new URL(url).pathname)));
  await unlink(part);
  await fsyncDir(outDir);
  return { bytes, sha256: hash.digest('hex') };
}

const queue = new Queue('plain', { connection: new Redis(redisUrl, { maxRetriesPerRequest: null }), prefix });
let completed = 0;
let done;
const finished = new Promise((resolve) => (done = resolve));
const worker = new Worker('plain', (job) => download(job.data.url), {
  connection: new Redis(redisUrl, { maxRetriesPerRequest: null }),
  prefix,
  concurrency,
});
worker.on('completed', () => {
  completed += 1;
  if (completed === urls.length) done();
});
worker.on('failed', (job, err) => {
  console.error(`plain: ${job?.data?.url} failed: ${err.message}`);
  process.exit(1);
});
await worker.waitUntilReady();
const started = process.hrtime.bigint();
await queue.addBulk(urls.map((url) => ({ name: 'download', data: { url } })));
await finished;
const seconds = Number(process.hrtime.bigint() - started) / 1e9;
console.log(JSON.stringify({ seconds, completed }));
await worker.close();
await queue.close();
await agent.close();
process.exit(0);
