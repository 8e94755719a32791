import { AbortMultipartUploadCommand, DeleteObjectCommand, GetObjectCommand, HeadObjectCommand, PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { isNotFound } from './s3-errors.js';
import type { PublishTarget } from '../storage.js';
import type { S3Keys } from './s3-keys.js';

/** A multipart upload a part writes to. */
export interface Upload {
  readonly id: string;
  /** The key it completes under: a staged key under `.parts/`, or the final key itself. */
  readonly key: string;
  /** Set when `key` is the final key: the name it publishes as, and the target it was picked for. */
  readonly direct?: { readonly filename: string; readonly wanted: PublishTarget } | undefined;
}

/** A part's marker as found in the bucket. */
export interface PartMarker {
  /** Enough of the upload to abort it. */
  readonly upload: Pick<Upload, 'id' | 'key'> | undefined;
  /** Bytes it keeps: the part's bytes after its uploaded parts. */
  readonly size: number;
  readonly etag: string | undefined;
  readonly modifiedAt: Date | undefined;
}

// S3 stores metadata names in lower case.
const UPLOAD_ID = 'upload-id';
// Metadata is US-ASCII only; a final key may hold any name.
const UPLOAD_KEY = 'upload-key';

/**
 * A part in progress is a small object at `.parts/<name>`: how the janitor finds
 * it (ListObjectsV2; s3rver lists no multipart uploads), which upload it writes
 * to, and the bytes a kept part holds beyond its whole upload parts.
 */
export async function putMarker(client: S3Client, keys: S3Keys, part: string, upload: Upload | undefined, body: Buffer, signal?: AbortSignal): Promise<void> {
  const metadata = upload === undefined ? undefined : { [UPLOAD_ID]: upload.id, [UPLOAD_KEY]: encodeURIComponent(upload.key) };
  await client.send(
    new PutObjectCommand({ Bucket: keys.bucket, Key: keys.markerKey(part), Body: body, ContentLength: body.length, Metadata: metadata }),
    signal === undefined ? {} : { abortSignal: signal },
  );
}

export async function readMarker(client: S3Client, keys: S3Keys, part: string): Promise<PartMarker | undefined> {
  try {
    const head = await client.send(new HeadObjectCommand({ Bucket: keys.bucket, Key: keys.markerKey(part) }));
    const id = head.Metadata?.[UPLOAD_ID];
    const key = head.Metadata?.[UPLOAD_KEY];
    return {
      upload: id === undefined || key === undefined ? undefined : { id, key: decodeURIComponent(key) },
      size: head.ContentLength ?? 0,
      etag: head.ETag,
      modifiedAt: head.LastModified,
    };
  } catch (err) {
    if (isNotFound(err)) return undefined;
    throw err;
  }
}

/** The first `bytes` bytes the marker keeps (less than one upload part), if it is still the one `marker` describes. */
export async function readMarkerBytes(client: S3Client, keys: S3Keys, part: string, marker: PartMarker, bytes: number): Promise<Buffer> {
  if (bytes === 0) return Buffer.alloc(0);
  const got = await client.send(new GetObjectCommand({ Bucket: keys.bucket, Key: keys.markerKey(part), Range: `bytes=0-${bytes - 1}`, IfMatch: marker.etag }));
  const body = Buffer.from((await got.Body?.transformToByteArray()) ?? []);
  if (got.ETag !== marker.etag || body.length !== bytes) throw new Error(`the marker of part ${part} changed while it was read`);
  return body;
}

export async function deleteObject(client: S3Client, keys: S3Keys, key: string): Promise<void> {
  await client.send(new DeleteObjectCommand({ Bucket: keys.bucket, Key: key }));
}

/** Aborts the upload; one already aborted or completed is no error. */
export async function abortUpload(client: S3Client, keys: S3Keys, upload: Pick<Upload, 'id' | 'key'>): Promise<void> {
  try {
    await client.send(new AbortMultipartUploadCommand({ Bucket: keys.bucket, Key: upload.key, UploadId: upload.id }));
  } catch (err) {
    if (!isNotFound(err)) throw err;
  }
}
