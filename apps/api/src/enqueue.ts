import type { Queue } from 'bullmq';
import { DOWNLOAD_JOB, type DownloadIndex, type DownloadJob, type DownloadRequest } from '@ferry/core';

/** BullMQ's options for a request's priority and start time. */
function scheduling(request: DownloadRequest): { priority?: number; delay?: number } {
  const delay = request.delayMs ?? (request.notBefore === undefined ? undefined : Math.max(0, Date.parse(request.notBefore) - Date.now()));
  return { ...(request.priority === undefined ? {} : { priority: request.priority }), ...(delay === undefined || delay === 0 ? {} : { delay }) };
}

export interface NewDownload {
  readonly id: string;
  readonly job: DownloadJob;
}

/**
 * Puts downloads in the queue and in their owner's list, in one round trip to
 * BullMQ however many there are. Returns whether each starts later (delayed).
 * The list entry goes first: a failed enqueue leaves only an entry the list skips.
 */
export async function enqueueDownloads(queue: Queue, index: DownloadIndex, downloads: readonly NewDownload[]): Promise<boolean[]> {
  const now = Date.now();
  const owners = new Map<string, Array<{ id: string; createdAt: number }>>();
  for (const { id, job } of downloads) {
    const entries = owners.get(job.owner) ?? [];
    entries.push({ id, createdAt: now });
    owners.set(job.owner, entries);
  }
  await Promise.all([...owners].map(([owner, entries]) => index.add(owner, entries)));
  const options = downloads.map(({ job }) => scheduling(job.request));
  await queue.addBulk(downloads.map(({ id, job }, i) => ({ name: DOWNLOAD_JOB, data: job, opts: { jobId: id, timestamp: now, ...options[i] } })));
  return options.map((o) => o.delay !== undefined);
}
