import { z } from 'zod';
import { DownloadProgress, DownloadResult } from '@ferry/contract';
import { Checkpoint } from '@ferry/storage';

/** What a worker writes as a job's progress: the public figures and, while bytes are kept for a resume, where they are. */
export const WorkerProgress = DownloadProgress.extend({ checkpoint: Checkpoint.optional() });
export type WorkerProgress = z.infer<typeof WorkerProgress>;

/**
 * The return value a worker stores: the public result and the stored file's
 * version, which only storage reads (the content route checks it is still the
 * file the result describes). The public result's schema drops it.
 */
export const StoredDownload = DownloadResult.extend({ storedVersion: z.string().optional() });
export type StoredDownload = z.infer<typeof StoredDownload>;
