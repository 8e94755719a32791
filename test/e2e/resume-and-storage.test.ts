import { execFileSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdir, mkdtemp, readdir, rm, utimes, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { DOWNLOAD_JOB } from '@ferry/core';
import { describe, expect, it } from 'vitest';
import { listFiles, pathOf, sha256File } from '../support/files.js';
import { bodyBytesSent, serveFile } from '../support/origin.js';
import { useStack } from '../support/stack.js';
import { receivedAtLeast, takeLockFrom, until } from '../support/wait.js';

const MiB = 1024 * 1024;

const stack = useStack({ eachTest: true });

const rangeStart = (header: string | string[] | undefined) => Number(/^bytes=(\d+)-$/.exec(String(header))?.[1] ?? NaN);

describe('when a worker dies mid-download', () => {
  it('lets another worker process resume from the bytes the first one kept', async () => {
    const { ferry } = stack;
    const doomed = await ferry.startWorker();
    const file = await stack.origin.randomFile('handover.bin', 30 * MiB);
    const route = '/handover.bin';
    const url = stack.origin.route(route, serveFile(file, { etag: '"h1"', bytesPerSecond: 10 * MiB }));
    const id = await ferry.enqueue({ url });
    await receivedAtLeast(ferry, id, 8 * MiB);

    doomed.child.kill('SIGKILL');
    await ferry.startWorker();
    const final = await ferry.waitFor(id, ['completed', 'failed'], 60_000);

    expect(final.state).toBe('completed');
    expect(await sha256File(pathOf(final.result!.location))).toBe(file.sha256);
    const [, second] = stack.origin.requests(route);
    const resumedAt = rangeStart(second?.headers.range);
    expect(resumedAt).toBeGreaterThanOrEqual(7 * MiB);
    expect(bodyBytesSent.get(route)?.[1]).toBe(file.size - resumedAt);
  });
});

describe('when a worker freezes past its lock while another takes its job over', () => {
  it('never lets the frozen worker corrupt or duplicate the file, and the thawed one stops reading at once', async () => {
    const { ferry } = stack;
    const frozen = await ferry.startWorker({ FERRY_LOG_LEVEL: 'info' });
    // Large enough that what the frozen worker had read when it froze (its first progress comes after a
    // second) plus what the kernel's socket buffers take in while it is frozen stay well under the file.
    const file = await stack.origin.randomFile('contested.bin', 48 * MiB);
    const route = '/contested.bin';
    const url = stack.origin.route(route, serveFile(file, { etag: '"c1"', bytesPerSecond: 8 * MiB }));
    const id = await ferry.enqueue({ url });
    await receivedAtLeast(ferry, id, 2 * MiB);

    // SIGSTOP is an event loop blocked for as long as we like: no lock renewal, no progress, no writes.
    frozen.child.kill('SIGSTOP');
    // On a loaded machine the freeze can come well past 2 MiB: what it had read is the baseline.
    const readWhenFrozen = (await ferry.status(id)).progress.receivedBytes;
    const rescuer = await ferry.startWorker();
    const final = await ferry.waitFor(id, ['completed', 'failed'], 60_000);
    frozen.child.kill('SIGCONT');
    expect(final.state).toBe('completed');

    // Thawed, the worker sees it went a whole lock duration without a renewal and stops reading.
    await until(() => frozen.logs().includes('FERRY_ERR_LOCK_LOST'), 'the thawed worker to stop with FERRY_ERR_LOCK_LOST');
    // Beyond what it had read: at most its last progress interval and what the kernel's socket buffers took in while it was frozen.
    expect(bodyBytesSent.get(route)?.[0]).toBeLessThan(readWhenFrozen + 16 * MiB);

    expect(rangeStart(stack.origin.requests(route)[1]?.headers.range)).toBeGreaterThan(0);
    expect(await listFiles(ferry.filesOf())).toEqual(['contested.bin']);
    expect(await sha256File(path.join(ferry.filesOf(), 'contested.bin'))).toBe(file.sha256);
    expect((await ferry.status(id)).state).toBe('completed');
    expect(rescuer.child.exitCode).toBeNull();
  });
});

describe('when a worker learns its lock was taken from it mid-download', () => {
  it('stops reading the origin at once, publishes nothing, and the job runs again once the lock frees', async () => {
    const { ferry } = stack;
    const robbed = await ferry.startWorker({ FERRY_LOG_LEVEL: 'info' });
    const file = await stack.origin.randomFile('robbed.bin', 24 * MiB);
    const route = '/robbed.bin';
    // Slow the first time only, so the run after the takeover is quick.
    const url = stack.origin.route(route, serveFile(file, { etag: '"r1"', bytesPerSecond: 2 * MiB }), serveFile(file, { etag: '"r1"' }));
    const id = await ferry.enqueue({ url });
    await receivedAtLeast(ferry, id, 1 * MiB);

    await takeLockFrom(robbed, ferry, stack.redis.url, id);

    expect(bodyBytesSent.get(route)?.[0]).toBeLessThan(file.size / 2);
    const final = await ferry.waitFor(id, ['completed', 'failed'], 30_000);
    expect(final.state).toBe('completed');
    expect(await sha256File(pathOf(final.result!.location))).toBe(file.sha256);
    expect(await listFiles(ferry.filesOf())).toEqual(['robbed.bin']);
    // The abandoned response was not read on in the meantime.
    expect(bodyBytesSent.get(route)?.[0]).toBeLessThan(file.size / 2);
  });
});

function mountTmpfs(dir: string, bytes: number): boolean {
  try {
    execFileSync('mount', ['-t', 'tmpfs', '-o', `size=${bytes}`, 'tmpfs', dir], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

describe('when the storage fills up', () => {
  it('removes the part file, retries, fails with a FERRY_ERR_STORAGE_FULL that promises no retry, and keeps serving other jobs', async (context) => {
    const mountpoint = await mkdtemp(path.join(os.tmpdir(), 'ferry-full-'));
    // A real full filesystem: a 4 MiB tmpfs. Mounting needs root; where it is refused the test says so and skips.
    if (!mountTmpfs(mountpoint, 4 * MiB)) {
      await rm(mountpoint, { recursive: true, force: true });
      context.skip('mount -t tmpfs is not permitted here (not root)');
    }
    try {
      const ferry = await stack.restartFerry({ FERRY_STORAGE_DIR: mountpoint, FERRY_JOB_ATTEMPTS: '2' });
      await ferry.startWorker();
      const big = await stack.origin.randomFile('too-big-for-disk.bin', 8 * MiB);
      const small = await stack.origin.randomFile('fits.bin', 64 * 1024);

      const bigId = await ferry.enqueue({ url: stack.origin.route('/full/too-big-for-disk.bin', serveFile(big, { etag: '"f"' })) });
      const failed = await ferry.waitFor(bigId);
      expect(failed.state).toBe('failed');
      expect(failed.attempts.made).toBe(2);
      expect(failed.error).toMatchObject({ code: 'FERRY_ERR_STORAGE_FULL', retryable: true });
      // The last attempt is over: its message must not promise another.
      expect(failed.error?.message).not.toMatch(/retr|again|later/i);
      expect(await readdir(path.join(mountpoint, '.parts'))).toEqual([]);

      const smallId = await ferry.enqueue({ url: stack.origin.route('/full/fits.bin', serveFile(small)) });
      const done = await ferry.waitFor(smallId);
      expect(done.state).toBe('completed');
      expect(await sha256File(pathOf(done.result!.location))).toBe(small.sha256);
    } finally {
      await stack.ferry.close();
      execFileSync('umount', [mountpoint]);
      await rm(mountpoint, { recursive: true, force: true });
    }
  });
});

describe('the part-file janitor', () => {
  it('removes the parts of finished and unknown jobs and keeps those of live ones', async () => {
    const { ferry } = stack;
    await ferry.startWorker({ FERRY_JANITOR_INTERVAL_MS: '1000' });
    const file = await stack.origin.randomFile('janitor.bin', 1000);
    const finished = await ferry.waitFor(await ferry.enqueue({ url: stack.origin.route('/janitor.bin', serveFile(file)) }));
    expect(finished.state).toBe('completed');
    const live = await ferry.queue.add(
      DOWNLOAD_JOB,
      { owner: 'test', request: { url: 'http://127.0.0.2:40000/later' } },
      { jobId: randomUUID(), delay: 60_000 },
    );
    const parts = path.join(ferry.storageDir, '.parts');
    await mkdir(parts, { recursive: true });
    const names = { live: `${live.id}.1.aaaa0000.part`, finished: `${finished.id}.1.bbbb0000.part`, unknown: `${randomUUID()}.2.cccc0000.part` };
    for (const name of Object.values(names)) await writeFile(path.join(parts, name), 'leftover');

    await until(async () => (await readdir(parts)).length <= 1, 'the janitor to remove the parts of finished and unknown jobs', 10_000);

    expect(await readdir(parts)).toEqual([names.live]);
  });

  it("removes a queued job's part that its checkpoint does not name once it is older than FERRY_JANITOR_ORPHAN_AGE_MS, and keeps the one it names", async () => {
    const { ferry } = stack;
    const job = await ferry.queue.add(
      DOWNLOAD_JOB,
      { owner: 'test', request: { url: 'http://127.0.0.2:40000/later' } },
      { jobId: randomUUID(), delay: 60_000 },
    );
    const names = { kept: `${job.id}.2.aaaa0000.part`, leftOver: `${job.id}.1.bbbb0000.part`, young: `${job.id}.3.cccc0000.part` };
    await job.updateProgress({ receivedBytes: 8, totalBytes: 100, checkpoint: { part: names.kept, bytes: 8, validator: '"v"', totalBytes: 100 } });
    const parts = path.join(ferry.storageDir, '.parts');
    await mkdir(parts, { recursive: true });
    const hourAgo = new Date(Date.now() - 3_600_000);
    for (const name of Object.values(names)) {
      await writeFile(path.join(parts, name), 'leftover');
      if (name !== names.young) await utimes(path.join(parts, name), hourAgo, hourAgo);
    }

    await ferry.startWorker({ FERRY_JANITOR_INTERVAL_MS: '1000', FERRY_JANITOR_ORPHAN_AGE_MS: '600000' });
    await until(async () => (await readdir(parts)).length <= 2, 'the janitor to remove the part no attempt will resume', 10_000);

    expect((await readdir(parts)).sort()).toEqual([names.kept, names.young].sort());
  });
});

describe('when the last attempt fails with bytes it could have resumed from', () => {
  it('removes the part at once rather than leaving it to the janitor, and drops the checkpoint', async () => {
    const ferry = await stack.restartFerry({ FERRY_JOB_ATTEMPTS: '1' });
    await ferry.startWorker();
    const file = await stack.origin.randomFile('last-try.bin', 4 * MiB);
    const id = await ferry.enqueue({ url: stack.origin.route('/last-try.bin', serveFile(file, { etag: '"l1"', closeAfterBytes: 2 * MiB })) });

    const final = await ferry.waitFor(id);

    expect(final.state).toBe('failed');
    expect(final.error?.code).toBe('FERRY_ERR_TRUNCATED');
    expect(await readdir(path.join(ferry.storageDir, '.parts'))).toEqual([]);
    const job = await ferry.queue.getJob(id);
    expect(job?.progress).not.toHaveProperty('checkpoint');
  });
});

describe('a worker whose FERRY_STORAGE_DIR it cannot write', () => {
  it('exits at start-up naming the directory and what to set, before it takes any job', async () => {
    // A path under a regular file: no user, root included, can make that directory.
    const blocker = path.join(stack.ferry.env['FERRY_DATA_DIR'] ?? os.tmpdir(), 'a-file');
    await writeFile(blocker, '');
    const storageDir = path.join(blocker, 'files');
    const failed = await stack.ferry.startWorker({ FERRY_STORAGE_DIR: storageDir }).then(
      () => undefined,
      (err: unknown) => (err as Error).message,
    );
    expect(failed, 'the worker exits before it is ready').toBeDefined();
    expect(failed).toContain(`FERRY_STORAGE_DIR ${storageDir} cannot be written (ENOTDIR)`);
    expect(failed).not.toMatch(/^\s+at /m);
  });
});
