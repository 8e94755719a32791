import { describe, expect, it } from 'vitest';
import type { WorkerProcess } from '../support/ferry.js';
import { listFiles, pathOf, sha256File } from '../support/files.js';
import { serveFile } from '../support/origin.js';
import { useStack } from '../support/stack.js';
import { receivedAtLeast } from '../support/wait.js';

const MiB = 1024 * 1024;

const stack = useStack({ eachTest: true });

/** Enqueues a slow download and waits until `worker` is streaming it. */
async function slowDownloadUnderWay(name: string, size: number, bytesPerSecond: number) {
  const file = await stack.origin.randomFile(name, size);
  const id = await stack.ferry.enqueue({ url: stack.origin.route(`/${name}`, serveFile(file, { bytesPerSecond })) });
  await receivedAtLeast(stack.ferry, id, MiB);
  return { id, file };
}

async function exitsWithin(worker: WorkerProcess, ms: number): Promise<number | null> {
  return Promise.race([
    worker.exited,
    new Promise<never>((_, reject) => setTimeout(() => reject(new Error(`worker still running after ${ms} ms:\n${worker.logs()}`)), ms)),
  ]);
}

describe('when a worker is killed with SIGKILL mid-download', () => {
  it('lets another worker take the job over and finish it intact', async () => {
    const doomed = await stack.ferry.startWorker();
    const { id, file } = await slowDownloadUnderWay('big-kill.bin', 50 * MiB, 10 * MiB);
    await stack.ferry.startWorker();

    doomed.child.kill('SIGKILL');
    const final = await stack.ferry.waitFor(id, ['completed', 'failed'], 60_000);

    expect(final.state).toBe('completed');
    expect(await sha256File(pathOf(final.result!.location))).toBe(file.sha256);
    expect(final.result?.bytes).toBe(file.size);
    expect(stack.origin.requests('/big-kill.bin')).toHaveLength(2);
    expect(await listFiles(stack.ferry.filesOf())).toEqual(['big-kill.bin']);
  });
});

describe('when a worker receives SIGTERM mid-download', () => {
  it('finishes the active download before it exits', async () => {
    const worker = await stack.ferry.startWorker({ FERRY_LOG_LEVEL: 'info' });
    const { id, file } = await slowDownloadUnderWay('drain.bin', 20 * MiB, 10 * MiB);

    worker.child.kill('SIGTERM');
    expect(await exitsWithin(worker, 15_000)).toBe(0);

    const final = await stack.ferry.status(id);
    expect(final.state).toBe('completed');
    expect(await sha256File(pathOf(final.result!.location))).toBe(file.sha256);
    expect(worker.logs()).toContain('shutting down gracefully');
  });

  it('interrupts at the deadline and hands the job back, without spending an attempt, to a worker that finishes it', async () => {
    const worker = await stack.ferry.startWorker({ FERRY_SHUTDOWN_DEADLINE_MS: '500' });
    const { id, file } = await slowDownloadUnderWay('deadline.bin', 20 * MiB, 2 * MiB);

    worker.child.kill('SIGTERM');
    expect(await exitsWithin(worker, 5_000)).toBe(0);
    expect((await stack.ferry.status(id)).state).toBe('queued');

    await stack.ferry.startWorker();
    const final = await stack.ferry.waitFor(id, ['completed', 'failed'], 60_000);
    expect(final.state).toBe('completed');
    expect(final.attempts.made).toBe(1);
    expect(await sha256File(pathOf(final.result!.location))).toBe(file.sha256);
    expect(worker.logs()).toContain('shutdown deadline reached');
  });

  it('interrupts at once on a second signal', async () => {
    const worker = await stack.ferry.startWorker({ FERRY_SHUTDOWN_DEADLINE_MS: '60000' });
    const { id } = await slowDownloadUnderWay('twice.bin', 20 * MiB, 2 * MiB);

    worker.child.kill('SIGTERM');
    await new Promise((resolve) => setTimeout(resolve, 200));
    worker.child.kill('SIGTERM');

    expect(await exitsWithin(worker, 5_000)).toBe(0);
    expect(worker.logs()).toContain('received again');
    expect((await stack.ferry.status(id)).state).toBe('queued');
  });
});
