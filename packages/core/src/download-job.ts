import { z } from 'zod';
import { DownloadRequest } from '@ferry/contract';

/**
 * A download job as it sits in the queue: the request, and the name of the API
 * key that made it (a key sees only its own jobs). Workers re-parse job data with it.
 */
export const DownloadJob = z.strictObject({
  owner: z.string().min(1),
  /** The request as the caller sent it, but its headers, which travel in `sealedHeaders`. */
  request: DownloadRequest,
  /** The batch the download was enqueued in, if any. */
  batchId: z.string().optional(),
  /** The request's headers, encrypted for this job (HeaderSealer): they may hold credentials, and Redis keeps job data for the whole retention period. */
  sealedHeaders: z.string().optional(),
});
export type DownloadJob = z.infer<typeof DownloadJob>;
