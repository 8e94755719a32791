import { ENDED_STATES, type DownloadEvent, type DownloadStatus } from '@ferry/contract';
import type { StreamStart } from './event-streams.js';

/** The event that ends the stream of a download that has already ended. */
function finalEvent(status: DownloadStatus): DownloadEvent | undefined {
  if (status.state === 'completed' && status.result !== null) return { type: 'completed', id: status.id, result: status.result };
  if (status.state === 'failed' && status.error !== null) return { type: 'failed', id: status.id, error: status.error };
  if (status.state === 'cancelled') return { type: 'cancelled', id: status.id };
  return undefined;
}

/**
 * How a stream opens on a download: its state, then its final event if it has ended,
 * else the bytes it has (without a speed: one report gives none) if it has any, so that
 * a paused or waiting download shows how far it got.
 */
export function snapshotEvents(status: DownloadStatus): DownloadEvent[] {
  const state: DownloadEvent = { type: 'state', id: status.id, state: status.state };
  const final = finalEvent(status);
  if (final !== undefined) return [state, final];
  if (status.progress.receivedBytes === 0) return [state];
  return [state, { type: 'progress', id: status.id, ...status.progress, bytesPerSecond: null, etaSeconds: null }];
}

/** A download's stream: its snapshot, then its events until it ends (at once if it already has). */
export const followDownload: StreamStart<DownloadStatus> = async (events, status) => {
  for (const event of snapshotEvents(status)) events.send(event.type, event);
  if (finalEvent(status) !== undefined) {
    events.end();
    return undefined;
  }
  return (event) => {
    events.send(event.type, event);
    if (ENDED_STATES.has(event.type)) events.end();
  };
};
