import type { Job, JobState } from 'bullmq';
import { decodeFailureReason, isCancellation } from './failure.js';
import type { ControlAction } from './control-field.js';
import {
  DownloadProgress,
  DownloadResult,
  DownloadWaiting,
  ENDED_STATES,
  type DownloadFailure,
  type DownloadState,
  type DownloadStatus,
} from '@ferry/contract';

const STATES: Readonly<Record<JobState | 'unknown', DownloadState | undefined>> = {
  waiting: 'queued',
  prioritized: 'queued',
  'waiting-children': 'queued',
  active: 'active',
  delayed: 'delayed',
  completed: 'completed',
  failed: 'failed',
  unknown: undefined,
};

/** A paused job waits in the delayed set; a cancelled one is a failed job with its own code. */
export function shownState(state: DownloadState, control: ControlAction | undefined, failure: DownloadFailure | undefined): DownloadState {
  if (state === 'delayed' && control === 'pause') return 'paused';
  if (state === 'failed' && isCancellation(failure)) return 'cancelled';
  return state;
}

const iso = (ms: number | undefined): string | null => (ms === undefined || ms === 0 ? null : new Date(ms).toISOString());

/** The job's hash field where the fleet limits record why a refused download waits (see FleetLimits). */
export const WAIT_FIELD = 'ferryWait';

/** A stored wait record (`{ reason, host, until }` with `until` in ms) as the API shows it, if it is one. */
export function readWaiting(stored: string | null | undefined): DownloadWaiting | undefined {
  if (typeof stored !== 'string') return undefined;
  try {
    const record = JSON.parse(stored) as { until?: unknown };
    const parsed = DownloadWaiting.safeParse({ ...record, until: typeof record.until === 'number' ? new Date(record.until).toISOString() : undefined });
    return parsed.success ? parsed.data : undefined;
  } catch {
    return undefined;
  }
}

/**
 * The public view of a job; undefined when the job vanished between lookup and state read.
 * `waiting` is the job's wait record (WAIT_FIELD), shown while it is delayed.
 */
export function toDownloadStatus(job: Job, jobState: JobState | 'unknown', control?: ControlAction, waiting?: DownloadWaiting): DownloadStatus | undefined {
  const mapped = STATES[jobState];
  if (mapped === undefined || job.id === undefined) return undefined;
  // A delayed job is waiting to retry: its last failure says why.
  const failure = (mapped === 'failed' || mapped === 'delayed') && job.failedReason ? decodeFailureReason(job.failedReason) : undefined;
  const state = shownState(mapped, control, failure);
  const result = state === 'completed' ? DownloadResult.safeParse(job.returnvalue) : undefined;
  // A download that ended quickly wrote no progress (the worker's PROGRESS_QUIET_MS): its result says how far it got.
  const progress = result?.success
    ? { receivedBytes: result.data.bytes, totalBytes: result.data.bytes }
    : (DownloadProgress.safeParse(job.progress).data ?? { receivedBytes: 0, totalBytes: null });
  return {
    id: job.id,
    url: String((job.data as { request?: { url?: unknown } }).request?.url ?? ''),
    state,
    batchId: (job.data as { batchId?: string }).batchId ?? null,
    progress,
    attempts: { made: job.attemptsMade, max: job.opts.attempts ?? 1 },
    result: result?.success ? result.data : null,
    error: failure ?? null,
    waiting: state === 'delayed' ? (waiting ?? null) : null,
    createdAt: new Date(job.timestamp).toISOString(),
    finishedAt: ENDED_STATES.has(state) ? iso(job.finishedOn) : null,
  };
}
