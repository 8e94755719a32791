import type { AfterHook, AppJob, QueueJobJson } from '@bull-board/api/typings/app';
import { DownloadProgress } from '@ferry/contract';
import { decodeFailureReason, DOWNLOAD_QUEUE, isCancellation, REDACTED, redactUrlsIn, type DownloadControl } from '@ferry/core';

/**
 * Job data as operators see it: callers' request headers may hold credentials,
 * and URLs may carry them in userinfo or the query. Walks the whole value, so
 * a callback's event (which holds the download's status) is covered too.
 */
// Sealed headers are ciphertext, but shown as what they are rather than as a blob; plain `headers` are those of jobs enqueued before sealing.
export function redactJobData(data: unknown): unknown {
  if (typeof data === 'string') return redactUrlsIn(data);
  if (Array.isArray(data)) return data.map(redactJobData);
  if (data === null || typeof data !== 'object') return data;
  return Object.fromEntries(
    Object.entries(data).map(([key, value]) => [
      key,
      key === 'sealedHeaders'
        ? '[encrypted]'
        : key === 'headers' && value !== null && typeof value === 'object'
          ? Object.fromEntries(Object.keys(value).map((name) => [name, REDACTED]))
          : redactJobData(value),
    ]),
  );
}

function hostOf(url: unknown): string | undefined {
  try {
    return new URL(String(url)).host;
  } catch {
    return undefined;
  }
}

const shortId = (job: QueueJobJson): string => String(job.id ?? '').slice(0, 8);

/** A download's card title: its filename or else its host, and enough of the id to tell cards apart. */
export function downloadTitle(job: QueueJobJson): string {
  const request = (job.data as { request?: { filename?: unknown; url?: unknown } } | null)?.request;
  const label = typeof request?.filename === 'string' ? request.filename : (hostOf(request?.url) ?? job.name);
  // Bull Board lists cancelled downloads among the failed: BullMQ has no state of that name.
  const cancelled = job.failedReason && isCancellation(decodeFailureReason(job.failedReason)) ? 'cancelled · ' : '';
  return `${cancelled}${label} · ${shortId(job)}`;
}

/** A callback's card title: the event and where it goes. */
export function callbackTitle(job: QueueJobJson): string {
  const data = job.data as { url?: unknown; event?: { type?: unknown } } | null;
  return `${String(data?.event?.type ?? job.name)} → ${hostOf(data?.url) ?? '?'} · ${shortId(job)}`;
}

/**
 * The public progress figures, with a percentage when the size is known:
 * Bull Board draws a bar for an object's numeric `progress`. The worker's
 * checkpoint (its part file's path) stays out.
 */
export function downloadProgressView(progress: unknown): unknown {
  const parsed = DownloadProgress.safeParse(progress);
  if (!parsed.success) return progress;
  const { receivedBytes, totalBytes } = parsed.data;
  if (totalBytes === null || totalBytes === 0) return { receivedBytes, totalBytes };
  return { progress: Math.min(100, Math.floor((receivedBytes / totalBytes) * 100)), receivedBytes, totalBytes };
}

/** The jobs a Bull Board answer carries, with the queue each belongs to. */
function jobsIn(route: string, params: Record<string, unknown>, body: unknown): Array<{ queue: string; job: AppJob }> {
  if (route === '/api/queues') {
    const queues = (body as { queues?: Array<{ name: string; jobs: AppJob[] }> }).queues ?? [];
    return queues.flatMap((queue) => queue.jobs.map((job) => ({ queue: queue.name, job })));
  }
  const job = (body as { job?: AppJob }).job;
  return job === undefined ? [] : [{ queue: String(params['queueName']), job }];
}

/**
 * What Bull Board's formatters cannot reach, applied to its answers:
 * - stack traces go (one per attempt, with the install's paths); the coded
 *   reason says what failed, and the worker's log has the rest;
 * - URLs in a failure's reason are redacted like those in job data;
 * - a paused download (BullMQ parks it in the delayed set ten years ahead) is
 *   titled paused and shown without that run date.
 */
export function dashboardAnswers(control: DownloadControl): AfterHook {
  return async (context, result) => {
    const jobs = jobsIn(context.route, context.request.params, result.body);
    for (const { job } of jobs) {
      job.stacktrace = [];
      if (job.failedReason !== undefined) job.failedReason = redactUrlsIn(job.failedReason);
    }
    const downloads = jobs.filter(({ queue }) => queue === DOWNLOAD_QUEUE).map(({ job }) => job);
    if (downloads.length === 0) return result;
    const pending = await control.pending(downloads.map((job) => String(job.id)));
    downloads.forEach((job, i) => {
      if (pending[i] !== 'pause') return;
      job.name = `paused · ${job.name}`;
      job.delay = 0;
    });
    return result;
  };
}
