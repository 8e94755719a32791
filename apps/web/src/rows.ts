import type { DownloadEvent, DownloadFailure, DownloadResult, DownloadState, DownloadStatus } from '@ferry/client';
import { hostOf } from './format.js';

/** One download as the page shows it; replaced (never mutated) on every change, so a row re-renders only when it changed. */
export interface Row {
  readonly id: string;
  readonly url: string;
  readonly host: string;
  readonly state: DownloadState;
  readonly batchId: string | null;
  readonly receivedBytes: number;
  readonly totalBytes: number | null;
  readonly bytesPerSecond: number | null;
  readonly etaSeconds: number | null;
  /** The failure, or for a delayed download the reason of the attempt that will be retried. */
  readonly error: DownloadFailure | null;
  readonly result: DownloadResult | null;
  readonly createdAt: string;
}

export function rowOf(status: DownloadStatus): Row {
  return {
    id: status.id,
    url: status.url,
    host: hostOf(status.url),
    state: status.state,
    batchId: status.batchId,
    receivedBytes: status.result?.bytes ?? status.progress.receivedBytes,
    totalBytes: status.result?.bytes ?? status.progress.totalBytes,
    bytesPerSecond: null,
    etaSeconds: null,
    error: status.error,
    result: status.result,
    createdAt: status.createdAt,
  };
}

/** The row after one of its stream's events. */
export function applyEvent(row: Row, event: DownloadEvent): Row {
  switch (event.type) {
    case 'state':
      return {
        ...row,
        state: event.state,
        bytesPerSecond: null,
        etaSeconds: null,
        error: event.state === 'queued' || event.state === 'active' ? null : row.error,
      };
    case 'progress':
      return {
        ...row,
        state: row.state === 'completed' ? row.state : 'active',
        receivedBytes: event.receivedBytes,
        totalBytes: event.totalBytes,
        bytesPerSecond: event.bytesPerSecond,
        etaSeconds: event.etaSeconds,
        error: null,
      };
    case 'completed':
      return {
        ...row,
        state: 'completed',
        result: event.result,
        receivedBytes: event.result.bytes,
        totalBytes: event.result.bytes,
        bytesPerSecond: null,
        etaSeconds: null,
        error: null,
      };
    case 'failed':
      return { ...row, state: 'failed', error: event.error, bytesPerSecond: null, etaSeconds: null };
    case 'cancelled':
      return { ...row, state: 'cancelled', bytesPerSecond: null, etaSeconds: null };
  }
}

/** Whether a fresh status says something the row does not (speed and ETA come from streams only). */
export function differs(row: Row, status: DownloadStatus): boolean {
  const next = rowOf(status);
  return (
    row.state !== next.state ||
    row.receivedBytes !== next.receivedBytes ||
    row.totalBytes !== next.totalBytes ||
    row.error?.code !== next.error?.code ||
    row.error?.message !== next.error?.message ||
    (row.result === null) !== (next.result === null)
  );
}
