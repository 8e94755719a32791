import { mkdir, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { FerryError } from '@ferry/contract';
import type { Storage } from '@ferry/storage';
import type { S3Settings } from '../config.js';

/** Long enough for the SDK's own retries of a refused connection, short enough to fail a start-up plainly. */
const CHECK_TIMEOUT_MS = 15_000;

const NETWORK_CODES = new Set([
  'ECONNREFUSED',
  'ENOTFOUND',
  'EAI_AGAIN',
  'ETIMEDOUT',
  'ECONNRESET',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'EPROTO',
  'CERT_HAS_EXPIRED',
]);

interface SdkError {
  readonly name?: string;
  readonly message?: string;
  readonly code?: string;
  readonly cause?: { readonly code?: string };
  readonly $metadata?: { readonly httpStatusCode?: number };
  readonly $response?: { readonly headers?: Record<string, string | undefined> };
}

const where = (s3: S3Settings): string => (s3.endpoint === undefined ? `AWS S3${s3.region === undefined ? '' : ` (${s3.region})`}` : s3.endpoint);

/** A start-up failure that says what to change; `undefined` when the error is none of the causes a user can fix. */
function explain(err: SdkError, s3: S3Settings): string | undefined {
  const status = err.$metadata?.httpStatusCode;
  const bucket = `FERRY_S3_BUCKET "${s3.bucket}"`;
  const network = [err.code, err.cause?.code].find((code) => code !== undefined && NETWORK_CODES.has(code));
  if (network !== undefined || err.name === 'TimeoutError' || err.name === 'AbortError') {
    return `cannot reach the S3 server at ${where(s3)} (${network ?? 'no answer'}): check FERRY_S3_ENDPOINT and that the server runs and is reachable from this worker.`;
  }
  if (err.name === 'CredentialsProviderError') {
    return 'found no AWS credentials: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or AWS_PROFILE with a shared config file, or run with an instance or task role.';
  }
  if (err.message?.includes('Region is missing') === true) return 'the AWS SDK found no region: set FERRY_S3_REGION (or AWS_REGION).';
  if (status === 404 || err.name === 'NotFound' || err.name === 'NoSuchBucket') {
    return `${bucket} does not exist at ${where(s3)}: create it (e.g. aws s3 mb s3://${s3.bucket}) or fix FERRY_S3_BUCKET (and FERRY_S3_ENDPOINT).`;
  }
  if (status === 301 || err.name === 'PermanentRedirect') {
    const region = err.$response?.headers?.['x-amz-bucket-region'];
    return `${bucket} is in another region than ${s3.region ?? "the AWS SDK's"}: set FERRY_S3_REGION${region === undefined ? " to the bucket's region" : `=${region}`}.`;
  }
  if (status === 403 || status === 401) {
    return `access to ${bucket} at ${where(s3)} was denied (${status}): the credentials the AWS chain found (AWS_ACCESS_KEY_ID, AWS_PROFILE, an instance role) are wrong or lack s3:ListBucket on it; fix them or the bucket's policy.`;
  }
  return undefined;
}

/**
 * Local disk's directories are made as needed, so what can go wrong is that they cannot be: a path under a
 * file, a read-only mount, another user's directory. A file made and removed in the root proves it can.
 */
async function checkDirectory(storageDir: string): Promise<void> {
  const probe = path.join(storageDir, `.ferry-write-check-${process.pid}`);
  try {
    await mkdir(storageDir, { recursive: true });
    await writeFile(probe, '');
    await rm(probe);
  } catch (caught) {
    const code = (caught as NodeJS.ErrnoException).code ?? (caught as Error).message;
    throw new FerryError(
      'FERRY_ERR_CONFIG',
      `local storage is not usable: FERRY_STORAGE_DIR ${storageDir} cannot be written (${code}): set it to a directory this worker may create and write in`,
      { cause: caught },
    );
  }
}

/**
 * Checks at start-up that storage can be used, so a worker with a wrong setting exits saying which instead of
 * failing its first job: that local disk's directory can be written, or that S3 storage's bucket answers
 * (HeadBucket) with the endpoint and credentials given.
 */
export async function checkStorage(storage: Storage, s3: S3Settings | undefined, storageDir: string): Promise<void> {
  if (s3 === undefined) return checkDirectory(storageDir);
  // Loaded here, not at the top: a local-disk process never loads the AWS SDK.
  const [{ HeadBucketCommand }, { S3Storage }] = await Promise.all([import('@aws-sdk/client-s3'), import('@ferry/storage/s3')]);
  if (!(storage instanceof S3Storage)) return;
  try {
    await storage.client.send(new HeadBucketCommand({ Bucket: storage.bucket }), { abortSignal: AbortSignal.timeout(CHECK_TIMEOUT_MS) });
  } catch (caught) {
    const err = caught as SdkError;
    const fix = explain(err, s3);
    if (fix !== undefined) throw new FerryError('FERRY_ERR_CONFIG', `S3 storage is not usable: ${fix}`, { cause: caught });
    throw new FerryError(
      'FERRY_ERR_STORAGE',
      `S3 storage is not usable: HeadBucket on "${s3.bucket}" at ${where(s3)} failed: ${err.name ?? 'Error'}: ${err.message ?? String(caught)}`,
      {
        cause: caught,
      },
    );
  }
}
