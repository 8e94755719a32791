import { randomBytes } from 'node:crypto';

/** What every backend's part names end with. */
export const PART_SUFFIX = '.part';

/** A new part's name. Unique per attempt: a worker that lost its lock may still be writing its own part. */
export const partFileName = (jobId: string, attempt: number): string =>
  `${jobId.replace(/[^A-Za-z0-9_-]/g, '_')}.${attempt}.${randomBytes(4).toString('hex')}${PART_SUFFIX}`;
