import type { Queue } from 'bullmq';
import { type DownloadRequest } from '@ferry/contract';
import { confirmReplicated, DOWNLOAD_JOB, type DownloadIndex, type DownloadJob, type HeaderSealer, type RedisClient, type ReplicaWait } from '@ferry/core';

/** BullMQ's options for a request's priority and start time. */
function scheduling(request: DownloadRequest): { priority?: number; delay?: number } {
  const delay = request.delayMs ?? (request.notBefore === undefined ? undefined : Math.max(0, Date.parse(request.notBefore) - Date.now()));
  return { ...(request.priority === undefined ? {} : { priority: request.priority }), ...(delay === undefined || delay === 0 ? {} : { delay }) };
}

/** Whether a download waits in the delayed set before a worker may take it. */
export const startsLater = (request: DownloadRequest): boolean => scheduling(request).delay !== undefined;

interface NewDownload {
  readonly id: string;
  readonly job: Omit<DownloadJob, 'owner'>;
}

export interface EnqueueTarget {
  readonly queue: Queue;
  readonly index: DownloadIndex;
  /** Encrypts request headers before they reach Redis. */
  readonly sealer: HeaderSealer;
  /** The queue's connection: WAIT counts the writes of the connection it is sent on. */
  readonly redis: RedisClient;
  /** Replicas that must hold the jobs before they count as accepted (FERRY_REDIS_WAIT_REPLICAS). */
  readonly replicas: ReplicaWait;
}

/** The job data for a download: its headers, if any, sealed for this job and out of the request. */
function jobData(sealer: HeaderSealer, owner: string, id: string, job: NewDownload['job']): DownloadJob {
  const { headers, ...request } = job.request;
  if (headers === undefined || Object.keys(headers).length === 0) return { owner, ...job };
  return { owner, ...job, request, sealedHeaders: sealer.seal(headers, { owner, jobId: id }) };
}

/**
 * Puts an owner's downloads in the queue and in the owner's list, in one round
 * trip however many there are. Returns whether each starts later (delayed).
 * The list entries go first: both are sent on the queue's one connection, which
 * Redis runs in order, so a failed enqueue leaves only entries the list skips.
 * Enqueueing an id again is harmless: BullMQ adds a job id at most once.
 */
export async function enqueueDownloads(
  { queue, index, sealer, redis, replicas }: EnqueueTarget,
  owner: string,
  downloads: readonly NewDownload[],
  // A taken-over idempotency claim passes its first time, so the list entry of an earlier try is the same member.
  now = Date.now(),
): Promise<boolean[]> {
  const options = downloads.map(({ job }) => scheduling(job.request));
  const jobs = downloads.map(({ id, job }, i) => ({
    name: DOWNLOAD_JOB,
    data: jobData(sealer, owner, id, job),
    opts: { jobId: id, timestamp: now, ...options[i] },
  }));
  // Not awaited before the jobs are sent: the entries are written first all the same (see above).
  const indexed = index.add(
    owner,
    downloads.map(({ id }) => ({ id, createdAt: now })),
  );
  // One job is one script call; addBulk would wrap it in a MULTI.
  const [single] = jobs;
  const added = jobs.length === 1 && single !== undefined ? queue.add(single.name, single.data, single.opts) : queue.addBulk(jobs);
  await Promise.all([indexed, added]);
  await confirmReplicated(redis, replicas, downloads.length === 1 ? `download ${downloads[0]!.id}` : `these ${downloads.length} downloads`);
  return options.map((o) => o.delay !== undefined);
}
