import type { JobState } from 'bullmq';
import type { Storage } from '@ferry/storage';
import type { Logger } from '@ferry/core';
import { every } from './every.js';

/** What the part janitor needs; every field is required (none has a default). */
export interface PartJanitorDeps {
  /** Where the part files are. */
  readonly storage: Storage;
  /** The state of the job a part belongs to (the downloads queue's getJobState). */
  readonly jobState: (jobId: string) => Promise<JobState | 'unknown'>;
  /** Where each sweep reports what it removed, or why it failed. */
  readonly logger: Logger;
  /** Time between sweeps, in ms (FERRY_JANITOR_INTERVAL_MS). */
  readonly intervalMs: number;
}

// Jobs that may still run: their part files are the bytes a later attempt resumes from.
const LIVE_STATES = new Set<JobState | 'unknown'>(['active', 'waiting', 'delayed', 'prioritized', 'waiting-children']);

/**
 * Part files outlive their jobs when a worker dies mid-download or a job fails
 * for good while keeping resumable bytes. This removes the parts of jobs that
 * are finished or gone, at start-up and then every `intervalMs`.
 */
export function startPartJanitor(deps: PartJanitorDeps): { stop: () => void } {
  const sweep = async () => {
    let removed = 0;
    for (const part of await deps.storage.listParts()) {
      if (LIVE_STATES.has(await deps.jobState(part.jobId))) continue;
      await deps.storage.removePart(part.name);
      removed += 1;
    }
    if (removed > 0) deps.logger.info({ removed }, 'removed part files of finished or vanished jobs');
  };
  return every(deps.intervalMs, 'part janitor sweep', deps.logger, sweep);
}
