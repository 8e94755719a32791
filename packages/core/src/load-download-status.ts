import type { Job, Queue } from 'bullmq';
import type { Redis } from 'ioredis';
import { toDownloadStatus } from './download-status.js';
import type { DownloadStatus } from './schemas.js';

/** The field of a job's BullMQ hash where Ferry records a pause or cancel request; it goes when the job goes. */
export const CONTROL_FIELD = 'ferryControl';
export type ControlAction = 'pause' | 'cancel';

export interface LoadedDownload {
  readonly job: Job;
  readonly status: DownloadStatus;
  /** A pause or cancel asked for and not yet carried out or undone. */
  readonly control: ControlAction | undefined;
}

/** Reads one download as the API shows it; undefined when there is no such job (any more). `redis` is the queue's connection. */
export async function loadDownloadStatus(queue: Queue, redis: Redis, id: string): Promise<LoadedDownload | undefined> {
  // State first: a job read before its state could show "completed" without the result written in the same step.
  const state = await queue.getJobState(id);
  const [job, control] = await Promise.all([queue.getJob(id), redis.hget(queue.toKey(id), CONTROL_FIELD)]);
  if (job === undefined) return undefined;
  const action = control === 'pause' || control === 'cancel' ? control : undefined;
  const status = toDownloadStatus(job, state, action);
  return status === undefined ? undefined : { job, status, control: action };
}
