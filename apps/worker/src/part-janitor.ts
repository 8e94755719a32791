import type { JobState } from 'bullmq';
import type { Storage } from '@ferry/storage';
import type { Logger } from '@ferry/core';
import { every } from './every.js';

/** What the part janitor needs; every field is required (none has a default). */
export interface PartJanitorDeps {
  /** Where the parts are (part files on disk, multipart uploads in a bucket). */
  readonly storage: Storage;
  /** The state of the job a part belongs to (the downloads queue's getJobState). */
  readonly jobState: (jobId: string) => Promise<JobState | 'unknown'>;
  /** The part the job's checkpoint names, the one its next attempt resumes, if any. */
  readonly keptPart: (jobId: string) => Promise<string | undefined>;
  /** Where each sweep reports what it removed, or why it failed. */
  readonly logger: Logger;
  /** Time between sweeps, in ms (FERRY_JANITOR_INTERVAL_MS). */
  readonly intervalMs: number;
  /** How old a queued job's part that no attempt will resume must be before it goes, in ms (FERRY_JANITOR_ORPHAN_AGE_MS). */
  readonly orphanAgeMs: number;
}

// Jobs that may still run: their part files are the bytes a later attempt resumes from.
const LIVE_STATES = new Set<JobState | 'unknown'>(['active', 'waiting', 'delayed', 'prioritized', 'waiting-children']);

/**
 * Parts outlive their attempts when a worker dies mid-download, loses its lock,
 * or a job fails for good while keeping resumable bytes; on S3 each is an open
 * multipart upload that costs storage until it is aborted. This removes, at
 * start-up and then every `intervalMs`:
 * - the parts of jobs that are finished or gone;
 * - the parts of queued jobs that their checkpoint does not name (no attempt
 *   will resume them), once older than `orphanAgeMs`: the age keeps clear of an
 *   attempt that is just starting or handing over.
 * A running job's parts are never touched: its current part may not be in a
 * checkpoint (an origin without a validator never gets one).
 */
export function startPartJanitor(deps: PartJanitorDeps): { stop: () => void } {
  const sweep = async () => {
    let finished = 0;
    let orphaned = 0;
    for (const part of await deps.storage.listParts()) {
      const state = await deps.jobState(part.jobId);
      if (!LIVE_STATES.has(state)) {
        await deps.storage.removePart(part.name);
        finished += 1;
      } else if (state !== 'active' && Date.now() - part.modifiedAt >= deps.orphanAgeMs && (await deps.keptPart(part.jobId)) !== part.name) {
        await deps.storage.removePart(part.name);
        orphaned += 1;
      }
    }
    if (finished > 0) deps.logger.info({ removed: finished }, 'removed parts of finished or vanished jobs');
    if (orphaned > 0) deps.logger.info({ removed: orphaned }, 'removed parts that no attempt will resume');
  };
  return every(deps.intervalMs, 'part janitor sweep', deps.logger, sweep);
}
