import { DelayedError, type Job } from 'bullmq';
import { limitHost, type DownloadEnd, type FleetLimits, type Logger, type MovedState, type Released } from '@ferry/core';
import type { TakeConnections } from '@ferry/engine';
import { hasWaited } from './download-worker.js';
import { endOf } from './download-end.js';
import { hostConnections } from './host-connections.js';

/**
 * Runs `download` once the fleet limits admit the job: its host (by the request URL, before any
 * redirect) and its API key have a free slot, and the host is not cooling down. If not, the job goes
 * back to the delayed set for the wait the limits chose and BullMQ counts no attempt (DelayedError):
 * it holds no worker slot meanwhile, and pause and cancel find it there like any delayed job; `moved`
 * counts it there in its batch. An admitted download is given `takeConnections`: each connection
 * beyond its first takes another slot of the host (hostConnections); without limits, or for a pause
 * or cancel, there is none.
 */
export async function runAdmitted<T>(
  limits: FleetLimits,
  job: Job,
  token: string | undefined,
  logger: Logger,
  moved: (state: MovedState) => Promise<void>,
  download: (takeConnections?: TakeConnections) => Promise<T>,
): Promise<T> {
  const { request, owner } = (job.data ?? {}) as { request?: { url?: unknown }; owner?: unknown };
  const host = typeof request?.url === 'string' ? limitHost(request.url) : undefined;
  // Job data that does not parse is refused by the download itself, with its coded error.
  if (!limits.enabled || host === undefined || typeof owner !== 'string' || token === undefined || job.id === undefined) return download();
  const admission = await limits.acquire(`${job.id}@${token}`, `${job.queueQualifiedName}:${job.id}`, host, owner, hasWaited(job));
  // A pause or cancel is carried out by the download before it sends anything: no slot needed.
  if (admission === 'controlled') return download();
  if (!admission.admitted) {
    logger.debug({ jobId: job.id, host, reason: admission.reason, waitMs: admission.waitMs }, 'download waits for a fleet limit');
    await job.moveToDelayed(Date.now() + admission.waitMs, token);
    await moved('delayed');
    throw new DelayedError();
  }
  const release = async (end: DownloadEnd): Promise<Released | undefined> => {
    try {
      return await limits.release(admission, host, owner, end);
    } catch (err) {
      // Slots left behind expire with their TTL.
      logger.warn({ jobId: job.id, host, err: (err as Error).message }, 'could not free the fleet-limit slots');
      return undefined;
    }
  };
  const connections = hostConnections(limits, admission, host, owner, logger);
  let result: T;
  try {
    result = await download(connections.take);
  } catch (err) {
    await connections.releaseRest();
    const end = endOf(err);
    const released = await release(end.kind === 'backpressure' ? end : (connections.backpressure() ?? end));
    // The job's failure says what its backpressure did to every other download of the host.
    if (err instanceof Error && released !== undefined) err.message += pushedBack(host, released);
    throw err;
  }
  await connections.releaseRest();
  // A segment's 429 or 503 counts though the download completed over one connection: else every slow download of the host would split into it again.
  await release(connections.backpressure() ?? { kind: 'completed' });
  return result;
}

function pushedBack(host: string, { cooldownMs, loweredTo }: Released): string {
  const closed = cooldownMs === undefined ? '' : `; ${host} is closed to this API key's downloads on every worker for ${Math.ceil(cooldownMs / 1000)} s`;
  const lowered = loweredTo === undefined ? '' : `; ${host} now gets at most ${loweredTo} download${loweredTo === 1 ? '' : 's'} at once until it recovers`;
  return closed + lowered;
}
