import { access, mkdtemp, rm } from 'node:fs/promises';
import { createRequire } from 'node:module';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { S3Client } from '@aws-sdk/client-s3';

/** A real S3-protocol server for tests: s3rver on 127.0.0.1, a free port, a temp dir. */
export interface S3TestServer {
  /** `http://127.0.0.1:<port>`: give it to the client as `endpoint` with `forcePathStyle: true`. */
  readonly endpoint: string;
  readonly region: string;
  /** A bucket made at start, empty. */
  readonly bucket: string;
  /** s3rver checks signatures against this pair. */
  readonly credentials: { readonly accessKeyId: string; readonly secretAccessKey: string };
  /** A new client for this server, path-style, with its credentials: each worker under test has its own. */
  createClient(): S3Client;
  /** The directory s3rver stores objects in, removed by `close`. */
  readonly directory: string;
  /** Stops the server and removes its directory. */
  close(): Promise<void>;
}

interface KoaContext {
  method: string;
  path: string;
  query: Record<string, string | string[] | undefined>;
  status: number;
  body: unknown;
  type: string;
}
type Middleware = (ctx: KoaContext, next: () => Promise<void>) => Promise<void>;
interface S3rver {
  middleware: Middleware[];
  store: { getResourcePath(bucket: string, key: string | undefined, resource: string): string };
  run(): Promise<AddressInfo>;
  close(): Promise<void>;
}
type S3rverClass = new (options: Record<string, unknown>) => S3rver;

const require = createRequire(import.meta.url);
const CREDENTIALS = { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' };
const REGION = 'us-east-1';

/**
 * s3rver (3.7) answers AbortMultipartUpload with 405, and an upload that cannot
 * be aborted leaves every discard path untestable. This adds it as S3 defines
 * it: the upload's parts are dropped (204), an unknown upload id is NoSuchUpload
 * (404). Nothing else of s3rver is changed.
 */
function abortMultipartUpload(server: S3rver): Middleware {
  return async (ctx, next) => {
    const uploadId = ctx.query['uploadId'];
    if (ctx.method !== 'DELETE' || typeof uploadId !== 'string' || !/^[0-9a-f]+$/.test(uploadId)) return next();
    const bucket = ctx.path.split('/')[1] ?? '';
    const dir = path.join(server.store.getResourcePath(bucket, undefined, 'uploads'), uploadId);
    const exists = await access(dir).then(
      () => true,
      () => false,
    );
    if (exists) {
      await rm(dir, { recursive: true, force: true });
      ctx.status = 204;
      return;
    }
    ctx.status = 404;
    ctx.type = 'application/xml';
    ctx.body = `<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>NoSuchUpload</Code><Message>The specified upload does not exist.</Message><UploadId>${uploadId}</UploadId></Error>`;
  };
}

export async function startS3Server({ bucket = 'ferry-test' }: { bucket?: string } = {}): Promise<S3TestServer> {
  const directory = await mkdtemp(path.join(os.tmpdir(), 'ferry-s3rver-'));
  const S3rver = require('s3rver') as S3rverClass;
  const server = new S3rver({ address: '127.0.0.1', port: 0, silent: true, directory, configureBuckets: [{ name: bucket }] });
  server.middleware.unshift(abortMultipartUpload(server));
  try {
    const { port } = await server.run();
    let closing: Promise<void> | undefined;
    const endpoint = `http://127.0.0.1:${port}`;
    return {
      endpoint,
      region: REGION,
      bucket,
      credentials: CREDENTIALS,
      createClient: () => new S3Client({ endpoint, region: REGION, forcePathStyle: true, credentials: CREDENTIALS }),
      directory,
      close: () =>
        (closing ??= (async () => {
          try {
            await server.close();
          } finally {
            await rm(directory, { recursive: true, force: true });
          }
        })()),
    };
  } catch (err) {
    await rm(directory, { recursive: true, force: true });
    throw err;
  }
}
