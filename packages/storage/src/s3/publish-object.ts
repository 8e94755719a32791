import { HeadObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { FerryError, numberedFilename } from '@ferry/contract';
import type { PublishTarget } from '../storage.js';
import { isConditionalConflict, isNotFound, isPreconditionFailed } from './s3-errors.js';
import type { S3Keys } from './s3-keys.js';

const MAX_NAME_COLLISIONS = 10_000;
/** AWS answers 409 while another conditional write to the key is in flight; that one decides, so ask again. */
const MAX_CONFLICT_RETRIES = 5;

/** Writes the bytes under `key`; with `ifNoneMatch: '*'` only when nothing is stored there. Answers the stored version. */
export type WriteObject = (key: string, ifNoneMatch: '*' | undefined) => Promise<string>;

async function exists(client: S3Client, bucket: string, key: string): Promise<boolean> {
  return client.send(new HeadObjectCommand({ Bucket: bucket, Key: key })).then(
    () => true,
    (err: unknown) => {
      if (isNotFound(err)) return false;
      throw err;
    },
  );
}

function fileExists(filename: string): FerryError {
  return new FerryError('FERRY_ERR_FILE_EXISTS', `a file named ${filename} already exists in storage and the conflict policy is fail`, {
    data: { filename },
  });
}

/**
 * Publishes as the policy says. `overwrite` is one write, which S3 makes
 * atomic. `rename` and `fail` write with If-None-Match: *, so of two workers
 * publishing one name only one gets it, on servers that honour conditional
 * writes (AWS S3 and MinIO do); the HEAD before each write only spares a
 * write that would fail, and on a server that ignores the condition it is what
 * keeps a taken name from being replaced — without the race-freedom.
 */
export async function publishObject(
  client: S3Client,
  keys: S3Keys,
  { namespace, filename, policy }: PublishTarget,
  write: WriteObject,
): Promise<{ filename: string; key: string; version: string }> {
  if (policy === 'overwrite') {
    const key = keys.fileKey(namespace, filename);
    return { filename, key, version: await write(key, undefined) };
  }
  for (let n = 0, conflicts = 0; n <= MAX_NAME_COLLISIONS; n += 1) {
    const candidate = n === 0 ? filename : numberedFilename(filename, n);
    const key = keys.fileKey(namespace, candidate);
    if (!(await exists(client, keys.bucket, key))) {
      try {
        return { filename: candidate, key, version: await write(key, '*') };
      } catch (err) {
        if (isConditionalConflict(err) && conflicts < MAX_CONFLICT_RETRIES) {
          conflicts += 1;
          n -= 1;
          continue;
        }
        if (!isPreconditionFailed(err)) throw err;
      }
    }
    if (policy === 'fail') throw fileExists(filename);
  }
  throw new Error(`more than ${MAX_NAME_COLLISIONS} files are already named like ${filename}`);
}
