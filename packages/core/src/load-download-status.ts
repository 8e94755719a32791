import type { Job, Queue } from 'bullmq';
import type { RedisClient } from './redis/connections.js';
import type { DownloadStatus } from '@ferry/contract';
import { asControlAction, CONTROL_FIELD, type ControlAction } from './control-field.js';
import { readWaiting, toDownloadStatus, WAIT_FIELD } from './download-status.js';

export interface LoadedDownload {
  readonly job: Job;
  readonly status: DownloadStatus;
  /** A pause or cancel asked for and not yet carried out or undone. */
  readonly control: ControlAction | undefined;
}

/** Reads one download as the API shows it; undefined when there is no such job (any more). `redis` is the queue's connection. */
export async function loadDownloadStatus(queue: Queue, redis: RedisClient, id: string): Promise<LoadedDownload | undefined> {
  // State first: a job read before its state could show "completed" without the result written in the same step.
  const state = await queue.getJobState(id);
  const [job, [recorded, waiting]] = await Promise.all([queue.getJob(id), redis.hmget(queue.toKey(id), CONTROL_FIELD, WAIT_FIELD)]);
  if (job === undefined) return undefined;
  const control = asControlAction(recorded);
  const status = toDownloadStatus(job, state, control, readWaiting(waiting));
  return status === undefined ? undefined : { job, status, control };
}
