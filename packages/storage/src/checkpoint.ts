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
  /**
   * The engine's saved hash state after exactly `bytes` bytes, for a backend that
   * cannot read its kept bytes back (S3: an unfinished multipart upload has no
   * readable object). Opaque to storage.
   */
  digests: z.string().optional(),
  /**
   * For a part written in segments: each run of kept bytes, `bytes` from `first` (the one at 0 included),
   * so a later attempt fetches only the gaps between them; `bytes` stays the bytes from 0 with no gap.
   */
  segments: z
    .array(z.object({ first: z.number().int().nonnegative(), bytes: z.number().int().nonnegative() }))
    .max(64)
    .optional(),
  /** What the backend needs besides the part's name to continue it (S3: the upload id and its parts); only that backend reads it. */
  state: z.record(z.string(), z.unknown()).optional(),
});
export type Checkpoint = z.infer<typeof Checkpoint>;
