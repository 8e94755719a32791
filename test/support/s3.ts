import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { readdir } from 'node:fs/promises';
import path from 'node:path';
import type { Readable } from 'node:stream';
import { promisify } from 'node:util';
import { GetObjectCommand, ListObjectsV2Command, S3Client } from '@aws-sdk/client-s3';
import { startS3Server, type S3TestServer } from '@ferry/storage/test-support/s3-server';

export type { S3TestServer };

/** Every suite's keys sit under this prefix, so the prefix is exercised too. */
export const KEY_PREFIX = 'ferry/';

/**
 * The storage's own S3 test server. The in-process API finds credentials as any
 * AWS SDK client does, in this process's environment, so they are set here; the
 * worker processes get them from `ferryS3Env`.
 */
export async function startTestS3(): Promise<S3TestServer> {
  const server = await startS3Server();
  process.env['AWS_ACCESS_KEY_ID'] = server.credentials.accessKeyId;
  process.env['AWS_SECRET_ACCESS_KEY'] = server.credentials.secretAccessKey;
  return server;
}

/** What makes Ferry store in `server`'s bucket, credentials through the AWS chain's environment variables. */
export function ferryS3Env(server: S3TestServer): Record<string, string> {
  return {
    FERRY_STORAGE: 's3',
    FERRY_S3_ENDPOINT: server.endpoint,
    FERRY_S3_REGION: server.region,
    FERRY_S3_BUCKET: server.bucket,
    FERRY_S3_FORCE_PATH_STYLE: 'true',
    FERRY_S3_KEY_PREFIX: KEY_PREFIX,
    FERRY_S3_PART_SIZE_BYTES: String(5 * 1024 * 1024),
    AWS_ACCESS_KEY_ID: server.credentials.accessKeyId,
    AWS_SECRET_ACCESS_KEY: server.credentials.secretAccessKey,
  };
}

/** A client of the test's own, not Ferry's: what a user's tools would see in the bucket. */
export function s3Client(server: S3TestServer): S3Client {
  return new S3Client({ endpoint: server.endpoint, region: server.region, forcePathStyle: true, credentials: server.credentials });
}

/** The keys under `prefix`, sorted. */
export async function listKeys(server: S3TestServer, prefix = KEY_PREFIX): Promise<string[]> {
  const client = s3Client(server);
  const keys: string[] = [];
  let token: string | undefined;
  do {
    const page = await client.send(new ListObjectsV2Command({ Bucket: server.bucket, Prefix: prefix, ContinuationToken: token }));
    keys.push(...(page.Contents ?? []).map((object) => object.Key ?? ''));
    token = page.IsTruncated === true ? page.NextContinuationToken : undefined;
  } while (token !== undefined);
  client.destroy();
  return keys.sort();
}

/** Published files only, without the parts in progress (`<prefix>.parts/`). */
export async function listFileKeys(server: S3TestServer): Promise<string[]> {
  return (await listKeys(server)).filter((key) => !key.startsWith(`${KEY_PREFIX}.parts/`));
}

/** The sha256 of an object, read with GetObject. */
export async function sha256Object(server: S3TestServer, location: string): Promise<string> {
  const start = `s3://${server.bucket}/`;
  if (!location.startsWith(start)) throw new Error(`${location} is not in the bucket ${server.bucket}`);
  const client = s3Client(server);
  try {
    const got = await client.send(new GetObjectCommand({ Bucket: server.bucket, Key: location.slice(start.length) }));
    const hash = createHash('sha256');
    for await (const chunk of got.Body as Readable) hash.update(chunk as Buffer);
    return hash.digest('hex');
  } finally {
    client.destroy();
  }
}

/**
 * Multipart uploads the server holds open. s3rver implements no
 * ListMultipartUploads; it keeps each open upload as a directory of its own.
 */
export async function openUploads(server: S3TestServer): Promise<string[]> {
  return readdir(path.join(server.directory, server.bucket, '._S3rver_uploads')).catch(() => []);
}

/** Runs the Debian awscli against the server, e.g. `aws s3 cp --recursive`. */
export async function awsCli(server: S3TestServer, args: string[]): Promise<string> {
  const { stdout } = await promisify(execFile)('aws', ['--endpoint-url', server.endpoint, ...args], {
    env: {
      ...process.env,
      AWS_ACCESS_KEY_ID: server.credentials.accessKeyId,
      AWS_SECRET_ACCESS_KEY: server.credentials.secretAccessKey,
      AWS_DEFAULT_REGION: server.region,
      AWS_CONFIG_FILE: '/dev/null',
      AWS_SHARED_CREDENTIALS_FILE: '/dev/null',
    },
    maxBuffer: 16 * 1024 * 1024,
  });
  return stdout;
}
