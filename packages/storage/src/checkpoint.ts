import { z } from 'zod';

/**
 * Where a later attempt can pick up: the part file, how many of its bytes are
 * on disk, and the validator that proves the origin still serves the same bytes.
 * Kept in the job's progress beside the public figures; the API never shows it.
 */
export const Checkpoint = z.object({
  part: z.string(),
  bytes: z.number().int().nonnegative(),
  validator: z.string(),
  /** The complete size the kept bytes are part of, when the origin said; a resumed range must name the same. */
  totalBytes: z.number().int().nonnegative().nullable().optional(),
});
export type Checkpoint = z.infer<typeof Checkpoint>;
