import type { Admission, FleetLimits, Logger } from '@ferry/core';
import type { TakeConnections } from '@ferry/engine';

export interface HostConnections {
  /** What the engine calls for its segments' connections: slots of the download's host, those free now. */
  readonly take: TakeConnections;
  /** Frees what the engine has not given back; the download's own release comes after it. */
  readonly releaseRest: () => Promise<void>;
}

/**
 * A segmented download's extra connections as slots of its host's fleet-wide limit, so that a host
 * limited to 2 sees 2 connections, however many segments a download would open. A slot this worker
 * still held after the download would be renewed for as long as the worker runs: `releaseRest`
 * frees those the engine did not. A failed Redis call grants nothing (one connection fewer) or,
 * on release, leaves the slot to expire with its TTL.
 */
export function hostConnections(
  limits: FleetLimits,
  admission: Extract<Admission, { admitted: true }>,
  host: string,
  owner: string,
  logger: Logger,
): HostConnections {
  const held = new Set<string>();
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
    return granted.map((holder) => ({ release: () => void release(holder) }));
  };
  const releaseRest = async () => {
    await Promise.all([...held].map(release));
  };
  return { take, releaseRest };
}
