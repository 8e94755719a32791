import type { Admission, DownloadEnd, FleetLimits, Logger } from '@ferry/core';
import type { TakeConnections } from '@ferry/engine';
import { endOf } from './download-end.js';

export interface HostConnections {
  /** What the engine calls for its segments' connections: slots of the download's host, those free now. */
  readonly take: TakeConnections;
  /** Frees what the engine has not given back, and any slot granted later; the download's own release comes after it. */
  readonly releaseRest: () => Promise<void>;
  /** The first 429 or 503 a segment's range was refused with, for the download's release; undefined if none was. */
  readonly backpressure: () => DownloadEnd | undefined;
}

/**
 * A segmented download's extra connections as slots of its host's fleet-wide limit, so that a host
 * limited to 2 sees 2 connections, however many segments a download would open. A slot this worker
 * still held after the download would be renewed for as long as the worker runs: `releaseRest`
 * frees those the engine did not, and those granted after it. A failed Redis call grants nothing
 * (one connection fewer) or, on release, leaves the slot to expire with its TTL. The download goes on
 * over one connection when a segment meets backpressure; `backpressure` keeps it for the fleet to learn.
 */
export function hostConnections(
  limits: FleetLimits,
  admission: Extract<Admission, { admitted: true }>,
  host: string,
  owner: string,
  logger: Logger,
): HostConnections {
  const held = new Set<string>();
  let closed = false;
  let pushedBack: DownloadEnd | undefined;
  const release = (holder: string): Promise<void> => {
    if (!held.delete(holder)) return Promise.resolve();
    return limits.releaseExtra(host, holder).catch((err: unknown) => logger.warn({ host, err: (err as Error).message }, 'could not free a connection slot'));
  };
  const take: TakeConnections = async (wanted) => {
    const granted = await limits.acquireExtra(admission, host, owner, wanted).catch((err: unknown) => {
      logger.warn({ host, err: (err as Error).message }, 'could not ask for connection slots; the download opens fewer connections');
      return [];
    });
    for (const holder of granted) held.add(holder);
    // The download ended while this was asked for: nothing will release it.
    if (closed) {
      await Promise.all(granted.map(release));
      return [];
    }
    return granted.map((holder) => ({
      release: (refusal?: unknown) => {
        const end = refusal === undefined ? undefined : endOf(refusal);
        if (end?.kind === 'backpressure') pushedBack ??= end;
        void release(holder);
      },
    }));
  };
  const releaseRest = async () => {
    closed = true;
    await Promise.all([...held].map(release));
  };
  return { take, releaseRest, backpressure: () => pushedBack };
}
