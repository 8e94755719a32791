import { ENDED_STATES, type DownloadEvent, type DownloadResult, type DownloadState, type DownloadStatus } from '@ferry/contract';
import { FerryClientError } from './client-error.js';
import { failure, outcomeOf } from './download-end.js';
import { badResponse } from './http.js';
import { pause, RetryBudget } from './retry-budget.js';

export type ProgressEvent = Extract<DownloadEvent, { type: 'progress' }>;

export interface WaitOptions {
  /** Called with each progress report while the download is active. Bytes can go back to 0 when an attempt restarts from scratch. */
  readonly onProgress?: (progress: ProgressEvent) => void;
  /**
   * Called with the state when the wait starts (again after a dropped stream was reopened) and each
   * time it changes while the download has not ended (`queued`, `active`, `delayed`, `paused`): a
   * paused download sends no progress to tell it by.
   */
  readonly onState?: (state: DownloadState) => void;
  /** Stops waiting (the download goes on): wait rejects with FERRY_CLIENT_ERR_ABORTED. */
  readonly signal?: AbortSignal;
}

export interface WaitSource {
  readonly id: string;
  events(signal: AbortSignal | undefined): AsyncGenerator<DownloadEvent>;
  get(signal: AbortSignal | undefined): Promise<DownloadStatus>;
  readonly pollIntervalMs: number;
}

function settle(status: DownloadStatus): DownloadResult {
  if (status.state === 'completed') {
    if (status.result === null) throw badResponse(`download ${status.id} is completed but Ferry gave no result`);
    return status.result;
  }
  throw failure(status.id, status.state, status.error);
}

/** Asks for the status every `pollIntervalMs`, deriving speed and ETA from consecutive answers. */
async function poll(source: WaitSource, { onProgress, onState, signal }: WaitOptions): Promise<DownloadResult> {
  const budget = new RetryBudget(signal);
  let previous: { bytes: number; at: number } | undefined;
  let lastState: DownloadState | undefined;
  for (;;) {
    let status: DownloadStatus;
    try {
      status = await source.get(signal);
      budget.succeeded();
    } catch (err) {
      await budget.failed(err);
      continue;
    }
    if (ENDED_STATES.has(status.state)) return settle(status);
    if (status.state !== lastState) onState?.(status.state);
    lastState = status.state;
    const { receivedBytes, totalBytes } = status.progress;
    const now = Date.now();
    if (status.state === 'active' && onProgress !== undefined) {
      const bytesPerSecond = previous === undefined || receivedBytes < previous.bytes ? null : ((receivedBytes - previous.bytes) * 1000) / (now - previous.at);
      const etaSeconds = totalBytes === null || !bytesPerSecond ? null : (totalBytes - receivedBytes) / bytesPerSecond;
      onProgress({ type: 'progress', id: status.id, receivedBytes, totalBytes, bytesPerSecond, etaSeconds });
    }
    previous = { bytes: receivedBytes, at: now };
    await pause(source.pollIntervalMs, signal);
  }
}

/** The download's result once it ends; see FerryClient.wait. */
export async function waitForDownload(source: WaitSource, options: WaitOptions): Promise<DownloadResult> {
  let ending: Exclude<DownloadEvent, ProgressEvent> | undefined;
  let sawEvent = false;
  try {
    for await (const event of source.events(options.signal)) {
      sawEvent = true;
      if (event.type === 'progress') options.onProgress?.(event);
      else if (event.type === 'state' && !ENDED_STATES.has(event.state)) options.onState?.(event.state);
      else {
        ending = event;
        break;
      }
    }
  } catch (err) {
    // Ferry answers a route it does not have like a missing download: an API without events. poll's first status tells which.
    if (sawEvent || !(err instanceof FerryClientError) || err.code !== 'FERRY_ERR_NOT_FOUND') throw err;
    return poll(source, options);
  }
  if (ending !== undefined && ending.type !== 'state') {
    const outcome = outcomeOf(ending);
    if (outcome instanceof FerryClientError) throw outcome;
    return outcome;
  }
  // A snapshot of a download that had already ended: its status has the result or the error.
  return settle(await source.get(options.signal));
}
