import { DelayedError, UnrecoverableError, WaitingError, type Job, type Processor } from 'bullmq';
import { FerryError, type DownloadProgress } from '@ferry/contract';
import { type Storage } from '@ferry/storage';
import { downloadToStorage, resolveTimeouts, WorkerProgress, type HttpAgents, type StoredDownload, type TakeConnections } from '@ferry/engine';
import {
  cancelledError,
  DownloadJob,
  hasEndToReport,
  PAUSED_FOR_MS,
  type Config,
  type DownloadOutbox,
  type FleetLimits,
  type HeaderSealer,
  type Logger,
  type MovedState,
} from '@ferry/core';
import { recordedControl } from './download-worker.js';
import { runAdmitted } from './fleet-gate.js';
import { toJobFailure } from './job-failure.js';
import { LOCK_LOST_REASON } from './lock-watch.js';
import { progressWriter } from './progress-writer.js';
import { CONTROL_REASONS, type WorkerControls } from './worker-controls.js';

/** The abort reason a worker gives its jobs when it shuts down, as opposed to a failure. */
export const SHUTDOWN_REASON = 'worker shutting down';

/** What the download processor is built from; every field is required (none has a default). */
export interface ProcessorDeps {
  /** The loaded configuration: HTTP limits, the server-wide `maxBytes` and conflict policy, the lock duration. */
  readonly config: Config;
  /** Where downloads are written and published. */
  readonly storage: Storage;
  /** The egress-guarded HTTP agents downloads go through. */
  readonly agents: HttpAgents;
  /** The worker's logger; each job logs through a child bound to its id and attempt. */
  readonly logger: Logger;
  /** Pause and cancel requests for the jobs this worker runs. */
  readonly controls: WorkerControls;
  /** The end-of-download outbox: each end is marked before BullMQ records it. */
  readonly outbox: DownloadOutbox;
  /** Opens the request headers the API encrypted into the job. */
  readonly sealer: HeaderSealer;
  /** Fleet-wide limits per host and per API key: a download runs only once they admit it. */
  readonly limits: FleetLimits;
  /**
   * Told every progress the engine reports, before any is written to Redis (the metrics
   * count received bytes from it: a short download writes no progress at all).
   */
  readonly observeProgress: (job: Job, progress: WorkerProgress) => void;
}

const lockLostError = (when: string) =>
  new FerryError('FERRY_ERR_LOCK_LOST', `this worker lost the job's lock ${when}; the job is another worker's (or runs again) and this one publishes nothing`);

/** What the engine's signal carries when BullMQ aborts: pause, cancel and a lost lock become the coded errors the attempt ends in. */
function engineAbortReason(reason: unknown): unknown {
  if (reason === CONTROL_REASONS.cancel) return cancelledError();
  if (reason === CONTROL_REASONS.pause) return new FerryError('FERRY_ERR_PAUSED', 'paused by request');
  if (reason === LOCK_LOST_REASON) return lockLostError('mid-download');
  return reason;
}

/** Links BullMQ's signal to the engine's, translating the reason. */
function engineSignal(signal: AbortSignal | undefined): AbortSignal {
  const controller = new AbortController();
  if (signal?.aborted) controller.abort(engineAbortReason(signal.reason));
  signal?.addEventListener('abort', () => controller.abort(engineAbortReason(signal.reason)), { once: true });
  return controller.signal;
}

/** Anything thrown that is not coded is a bug or an unforeseen fault: it fails the attempt as internal. */
const coded = (err: unknown): FerryError => (err instanceof FerryError ? err : new FerryError('FERRY_ERR_INTERNAL', String(err), { cause: err }));

export function createProcessor(deps: ProcessorDeps): Processor<unknown, StoredDownload> {
  // Three declared parameters: BullMQ passes the AbortSignal only to processors that accept it.
  return async (job, token, signal) => {
    const id = job.id ?? 'unknown';
    deps.controls.track(id);
    // Marked before BullMQ records the end, so a worker dying right after still has it reported.
    // A download with no callback and no batch has nothing to report, so it is not marked.
    const warnIfFails = (what: string) => (err: unknown) => deps.logger.warn({ jobId: id, err: (err as Error).message }, what);
    const ending = () => (hasEndToReport(job.data) ? deps.outbox.expect(id).catch(warnIfFails('could not mark the end')) : Promise.resolve());
    // Paused, made to wait for a limit or handed back at shutdown: not an end, though a batch counts the member where it is now.
    const moved = (state: MovedState) => deps.outbox.recount(job, state).catch(warnIfFails('could not recount the batch'));
    try {
      const result = await runAdmitted(deps.limits, job, token, deps.logger, moved, (takeConnections) =>
        runDownload(deps, job, id, token, signal, moved, takeConnections),
      );
      await ending();
      return result;
    } catch (err) {
      if (!(err instanceof DelayedError || err instanceof WaitingError)) await ending();
      throw err;
    } finally {
      deps.controls.untrack(id);
    }
  };
}

/**
 * The job as the API accepted it: its sealed headers opened and put back in the
 * request, and the whole checked against the contract again, so data that did
 * not come from the API (or was altered since) is refused with a coded error.
 */
function openJob(data: unknown, id: string, sealer: HeaderSealer): DownloadJob {
  const { sealedHeaders, ...rest } = (data ?? {}) as { sealedHeaders?: unknown; owner?: unknown; request?: unknown };
  let restored = data;
  if (typeof sealedHeaders === 'string' && typeof rest.owner === 'string' && typeof rest.request === 'object' && rest.request !== null) {
    restored = { ...rest, request: { ...rest.request, headers: sealer.unseal(sealedHeaders, { owner: rest.owner, jobId: id }) } };
  }
  const parsed = DownloadJob.safeParse(restored);
  if (!parsed.success) throw new FerryError('FERRY_ERR_INVALID_JOB', `job data does not match the download contract: ${parsed.error.message}`);
  return parsed.data;
}

/** Parks a job until it is resumed; BullMQ counts no attempt for it. */
async function pause(job: Job, token: string | undefined, moved: (state: MovedState) => Promise<void>): Promise<never> {
  if (token === undefined) throw new Error('a job can only be paused by the worker holding it');
  await job.moveToDelayed(Date.now() + PAUSED_FOR_MS, token);
  await moved('paused');
  throw new DelayedError();
}

/**
 * Ends a job as cancelled: a failure of its own code. Its progress keeps the bytes it
 * received (the status and its batch count them) but loses the checkpoint: the part is
 * gone, and a retry must not look for it.
 */
async function endCancelled(deps: ProcessorDeps, job: Job, id: string): Promise<never> {
  await forgetKeptBytes(deps, job);
  await deps.controls.clear(id);
  throw toJobFailure(cancelledError());
}

/**
 * Removes the part the job's checkpoint names (on S3: aborts its multipart upload)
 * when no attempt will resume it, and drops the checkpoint from the progress, which
 * keeps the bytes received. A removal that fails is left to the part janitor.
 */
async function forgetKeptBytes(deps: ProcessorDeps, job: Job): Promise<void> {
  const { receivedBytes = 0, totalBytes = null, checkpoint } = WorkerProgress.safeParse(job.progress).data ?? {};
  if (checkpoint === undefined) return;
  await deps.storage
    .removePart(checkpoint.part)
    .catch((err: unknown) => deps.logger.warn({ jobId: job.id, err: (err as Error).message }, 'could not remove the kept part; the janitor will'));
  await job.updateProgress({ receivedBytes, totalBytes } satisfies DownloadProgress).catch(() => undefined);
}

/**
 * Whether BullMQ retries no more after this failure: it is permanent (toJobFailure made it an UnrecoverableError)
 * or the job's `attempts` are spent. BullMQ decides this in a private method (Job.shouldRetryJob) from the same
 * public fields; its two other reasons cannot arise here: Ferry sets no `maxStartedAttempts`, and its backoff
 * strategy (downloadBackoffStrategy) never answers -1.
 */
const isLastAttempt = (job: Job, failure: Error): boolean => failure instanceof UnrecoverableError || job.attemptsMade + 1 >= (job.opts.attempts ?? 1);

async function runDownload(
  deps: ProcessorDeps,
  job: Job,
  id: string,
  token: string | undefined,
  signal: AbortSignal | undefined,
  moved: (state: MovedState) => Promise<void>,
  takeConnections: TakeConnections | undefined,
): Promise<StoredDownload> {
  const attempt = job.attemptsStarted;
  const log = deps.logger.child({ jobId: job.id, attempt });
  let opened: DownloadJob;
  try {
    opened = openJob(job.data, id, deps.sealer);
  } catch (err) {
    const failure = coded(err);
    log.error({ code: failure.code }, failure.message);
    throw toJobFailure(failure);
  }
  const requested = recordedControl(job);
  if (requested === 'cancel') return endCancelled(deps, job, id);
  if (requested === 'pause') return pause(job, token, moved);
  const progress = progressWriter(job);
  const { owner, request } = opened;
  const resumeFrom = WorkerProgress.safeParse(job.progress).data?.checkpoint;
  log.info({ url: request.url, owner, resumeFromBytes: resumeFrom?.bytes }, 'download started');
  try {
    const result = await downloadToStorage(request, {
      jobId: id,
      attempt,
      signal: engineSignal(signal),
      agents: deps.agents,
      timeouts: resolveTimeouts(request.timeouts, deps.config.http),
      storage: deps.storage,
      namespace: owner,
      maxBytes: deps.config.downloads.maxBytes,
      onConflict: deps.config.downloads.onConflict,
      segments: deps.config.downloads.segments,
      segmentMinBytes: deps.config.downloads.segmentMinBytes,
      segmentProbeMs: deps.config.downloads.segmentProbeMs,
      segmentSplitBelowBytesPerSecond: deps.config.downloads.segmentSplitBelowBytesPerSecond,
      takeConnections,
      resumeFrom,
      onProgress: (reported) => {
        deps.observeProgress(job, reported);
        progress.report(reported);
      },
      assertOwnership: async () => {
        await progress.flushed();
        // A worker frozen past its lock (GC pause, SIGSTOP) must not publish a job another worker now runs.
        const owned = token !== undefined && (await job.extendLock(token, deps.config.worker.lockDurationMs)) === 1;
        if (!owned) throw lockLostError('before publishing');
      },
    });
    await progress.settle(true);
    log.info({ bytes: result.bytes, sha256: result.sha256, location: result.location }, 'download completed');
    return result;
  } catch (caught) {
    await progress.settle(false);
    const err = coded(caught);
    if (signal?.aborted && signal.reason === SHUTDOWN_REASON && token !== undefined) {
      // Handing the job straight back costs no attempt and does not wait for stalled-job detection.
      log.warn('download interrupted by shutdown; returning the job to the queue');
      await job.moveToWait(token);
      await moved('queued');
      throw new WaitingError();
    }
    if (err.code === 'FERRY_ERR_LOCK_LOST') {
      // The job is not this worker's to fail or finish: its new holder (or stalled-job detection) decides.
      log.warn({ code: err.code }, err.message);
      throw new WaitingError();
    }
    if (err.code === 'FERRY_ERR_PAUSED') {
      log.info({ keptBytes: WorkerProgress.safeParse(job.progress).data?.checkpoint?.bytes ?? 0 }, 'download paused');
      return pause(job, token, moved);
    }
    if (err.code === 'FERRY_ERR_CANCELLED') {
      log.info('download cancelled');
      return endCancelled(deps, job, id);
    }
    log.warn({ code: err.code, retryable: err.retryable, err: err.message }, 'download attempt failed');
    const failure = toJobFailure(err);
    // The engine keeps the bytes of a retryable failure for the next attempt; after the last one there is none.
    if (isLastAttempt(job, failure)) await forgetKeptBytes(deps, job);
    throw failure;
  }
}
