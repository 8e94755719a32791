import { z } from 'zod';

/**
 * What a checkpoint's `state` holds for an S3 part: the multipart upload and
 * the parts done (ETag and size each), kept in the checkpoint so resuming needs
 * no ListParts, and how many bytes after them the part's marker object keeps.
 */
export const S3UploadState = z
  .object({
    /** Absent while the part is below one upload part: its bytes are all in the marker. */
    upload: z
      .object({
        id: z.string().min(1),
        key: z.string().min(1),
        direct: z
          .object({
            filename: z.string().min(1),
            wanted: z.object({ namespace: z.string().min(1), filename: z.string().min(1), policy: z.enum(['rename', 'overwrite', 'fail']) }),
          })
          .optional(),
      })
      .optional(),
    etags: z.array(z.string().min(1)),
    sizes: z.array(z.number().int().positive()),
    tail: z.number().int().nonnegative(),
  })
  .refine((state) => state.etags.length === state.sizes.length, { error: 'every part has one ETag and one size' });
export type S3UploadState = z.infer<typeof S3UploadState>;
