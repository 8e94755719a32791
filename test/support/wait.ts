import { Redis } from 'ioredis';
import { WorkerProgress } from '@ferry/engine';
import type { Ferry, WorkerProcess } from './ferry.js';

/** Waits until `check()` holds, or fails naming `what`. */
export async function until(check: () => boolean | Promise<boolean>, what: string, ms = 20_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}

/** Waits until the API reports at least `bytes` received for the download. */
export async function receivedAtLeast(ferry: Ferry, id: string, bytes: number, timeoutMs = 20_000): Promise<void> {
  await until(async () => (await ferry.status(id)).progress.receivedBytes >= bytes, `download ${id} to reach ${bytes} bytes`, timeoutMs);
}

/** Waits until the download's checkpoint holds at least `bytes` (on S3, whole uploaded parts). */
export async function checkpointAtLeast(ferry: Ferry, id: string, bytes: number, timeoutMs = 30_000): Promise<void> {
  await until(
    async () => (WorkerProgress.safeParse((await ferry.queue.getJob(id))?.progress).data?.checkpoint?.bytes ?? 0) >= bytes,
    `download ${id}'s checkpoint to reach ${bytes} bytes`,
    timeoutMs,
  );
}

/**
 * Puts another token in the job's lock, which is what a worker sees when the job has another owner
 * (it froze past its lock): its next renewal fails. Waits until `worker` stops with FERRY_ERR_LOCK_LOST.
 */
export async function takeLockFrom(worker: WorkerProcess, ferry: Ferry, redisUrl: string, id: string): Promise<void> {
  const redis = new Redis(redisUrl);
  await redis.set(`${ferry.queue.toKey(id)}:lock`, 'someone-else', 'PX', 3000);
  redis.disconnect();
  await until(() => worker.logs().includes('FERRY_ERR_LOCK_LOST'), 'the worker to stop with FERRY_ERR_LOCK_LOST', 30_000);
}
