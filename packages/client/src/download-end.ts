import type { DownloadEvent, DownloadFailure, DownloadResult, DownloadState } from '@ferry/contract';
import { FerryClientError } from './client-error.js';
import { badResponse } from './http.js';

/** The last event of a download's stream. */
export type DownloadEnd = Extract<DownloadEvent, { type: 'completed' | 'failed' | 'cancelled' }>;

/** The error an ended download that did not complete stands for. */
export function failure(id: string, state: DownloadState, error: DownloadFailure | null): FerryClientError {
  if (error !== null) return new FerryClientError(error.code, error.message);
  return state === 'cancelled'
    ? new FerryClientError('FERRY_ERR_CANCELLED', `download ${id} was cancelled`)
    : badResponse(`download ${id} is ${state} but Ferry gave no error`);
}

/** What a download's last event tells its waiter: the result, or the FerryClientError it failed or was cancelled with. */
export function outcomeOf(event: DownloadEnd): DownloadResult | FerryClientError {
  switch (event.type) {
    case 'completed':
      return event.result;
    case 'failed':
      return failure(event.id, 'failed', event.error);
    case 'cancelled':
      return failure(event.id, 'cancelled', null);
  }
}
