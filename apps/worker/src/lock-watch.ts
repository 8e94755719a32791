import type { Worker } from 'bullmq';
import type { Logger } from '@ferry/core';

/** The abort reason a worker gives a job whose lock it no longer holds. */
export const LOCK_LOST_REASON = 'ferry:lock-lost';

/** Where a processor's run tells the watch that the job is no longer this worker's to watch. */
export interface LockWatch {
  /** Starts watching `worker`'s jobs; call once, right after creating it. */
  watch(worker: Worker): void;
  /** Forgets a job whose run ended, however it ended (completed, failed, paused, handed back). */
  forget(id: string | undefined): void;
}

/**
 * Aborts a job as soon as this worker knows its lock is gone, instead of
 * downloading to the end and finding out before publishing: when a renewal is
 * refused (another worker holds the job, or the lock expired), or when no renewal
 * has succeeded for a whole lock duration (Redis unreachable from here, so the
 * lock has expired there and another worker may take the job over).
 */
export function lockWatch(lockDurationMs: number, logger: Logger): LockWatch {
  // When each job's lock was last set, by this worker's clock. A renewal's reply comes after Redis set the
  // lock, so the lock expires there at or before this time plus the lock duration.
  const renewedAt = new Map<string, number>();
  return {
    forget(id) {
      if (id !== undefined) renewedAt.delete(id);
    },
    watch(worker) {
      const lose = (id: string, why: string) => {
        renewedAt.delete(id);
        if (worker.cancelJob(id, LOCK_LOST_REASON)) logger.warn({ jobId: id }, `lock lost (${why}); stopping the download`);
      };
      worker.on('active', (job) => {
        if (job.id !== undefined) renewedAt.set(job.id, Date.now());
      });
      worker.on('locksRenewed', ({ jobIds }) => {
        for (const id of jobIds) if (renewedAt.has(id)) renewedAt.set(id, Date.now());
      });
      worker.on('lockRenewalFailed', (jobIds) => {
        for (const id of jobIds) lose(id, 'renewal refused');
      });
      const timer = setInterval(
        () => {
          const now = Date.now();
          for (const [id, at] of renewedAt) if (now - at >= lockDurationMs) lose(id, `not renewed for ${lockDurationMs} ms`);
        },
        Math.max(100, Math.floor(lockDurationMs / 4)),
      );
      timer.unref();
      worker.once('closed', () => clearInterval(timer));
    },
  };
}
