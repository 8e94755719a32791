import { HeadObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { candidateNames, fileExists } from '../free-name.js';
import type { PublishTarget } from '../storage.js';
import { isConditionalConflict, isNotFound, isPreconditionFailed } from './s3-errors.js';
import type { S3Keys } from './s3-keys.js';

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

/**
 * Writes under `key` only if nothing is stored there: with If-None-Match: *,
 * so of two workers publishing one name only one gets it, on servers that
 * honour conditional writes (AWS S3 and MinIO do). The HEAD before it spares a
 * write that would fail, and on a server that ignores the condition it is what
 * keeps a taken name from being replaced, without the race-freedom.
 * Answers the version written, or undefined when the key is taken.
 */
export async function writeIfFree(client: S3Client, keys: S3Keys, key: string, write: WriteObject): Promise<string | undefined> {
  for (let conflicts = 0; ; conflicts += 1) {
    if (await exists(client, keys.bucket, key)) return undefined;
    try {
      return await write(key, '*');
    } catch (err) {
      if (isConditionalConflict(err) && conflicts < MAX_CONFLICT_RETRIES) continue;
      if (isPreconditionFailed(err)) return undefined;
      throw err;
    }
  }
}

/** Publishes as the policy says; `overwrite` is one write, which S3 makes atomic. */
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
  for (const candidate of candidateNames(filename, policy)) {
    const key = keys.fileKey(namespace, candidate);
    const version = await writeIfFree(client, keys, key, write);
    if (version !== undefined) return { filename: candidate, key, version };
  }
  throw fileExists(filename);
}

/** The name a policy would publish under now, or undefined when `fail` finds it taken. */
export async function firstFreeName(client: S3Client, keys: S3Keys, { namespace, filename, policy }: PublishTarget): Promise<string | undefined> {
  if (policy === 'overwrite') return filename;
  for (const candidate of candidateNames(filename, policy)) {
    if (!(await exists(client, keys.bucket, keys.fileKey(namespace, candidate)))) return candidate;
  }
  return undefined;
}
