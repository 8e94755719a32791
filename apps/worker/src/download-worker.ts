import { Worker, type Job, type JobJson } from 'bullmq';
import { asControlAction, CONTROL_FIELD, WAIT_FIELD, type ControlAction } from '@ferry/core';

const recorded = new WeakMap<Job, ControlAction>();
const waited = new WeakSet<Job>();

/**
 * BullMQ's worker, keeping the pause or cancel request recorded on a job when it
 * was taken: BullMQ's move to active already reads the job's whole hash, so a
 * request recorded before the job reached this worker costs no read of its own;
 * likewise whether the fleet limits recorded a wait on it.
 * One recorded later is pushed over pub/sub, or found by WorkerControls' poll.
 */
export class DownloadWorker<Result> extends Worker<unknown, Result> {
  protected override createJob(data: JobJson, jobId: string): Job<unknown, Result> {
    const job = super.createJob(data, jobId);
    const action = asControlAction((data as unknown as Record<string, unknown>)[CONTROL_FIELD]);
    if (action !== undefined) recorded.set(job, action);
    if ((data as unknown as Record<string, unknown>)[WAIT_FIELD] !== undefined) waited.add(job);
    return job;
  }
}

/** The request recorded on the job when this worker took it, if any. */
export const recordedControl = (job: Job): ControlAction | undefined => recorded.get(job);

/** Whether the job had a fleet-limit wait recorded when this worker took it. */
export const hasWaited = (job: Job): boolean => waited.has(job);
