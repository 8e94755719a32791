import { PassThrough, type Readable } from 'node:stream';
import { GetObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { getSignedUrl } from '@aws-sdk/s3-request-presigner';
import type { PresignOptions, StoredReader } from '../storage.js';

/**
 * A published object opened for reading. Each GET asks for the ETag it was
 * opened at (If-Match) and checks the ETag it got, so a reader never gets the
 * bytes of an object that replaced it: its stream fails instead.
 */
export class S3StoredReader implements StoredReader {
  #streamed = false;

  constructor(
    private readonly client: S3Client,
    private readonly bucket: string,
    private readonly key: string,
    private readonly etag: string,
    /** Set where the bucket keeps versions: a presigned URL then names this very version. */
    private readonly versionId: string | undefined,
    readonly size: number,
    readonly modifiedAt: Date,
  ) {}

  stream(range?: { readonly start: number; readonly end: number }): Readable {
    if (this.#streamed) throw new Error('a stored file is streamed once per opening');
    this.#streamed = true;
    const out = new PassThrough();
    if (this.size === 0 && range === undefined) {
      out.end();
      return out;
    }
    const request = new GetObjectCommand({
      Bucket: this.bucket,
      Key: this.key,
      IfMatch: this.etag,
      ...(range === undefined ? {} : { Range: `bytes=${range.start}-${range.end}` }),
    });
    const aborting = new AbortController();
    out.once('close', () => {
      if (!out.readableEnded) aborting.abort();
    });
    this.client.send(request, { abortSignal: aborting.signal }).then(
      (got) => {
        const body = got.Body as Readable | undefined;
        if (got.ETag !== this.etag || body === undefined) {
          body?.destroy();
          out.destroy(new Error(`${this.key} was replaced while it was being read`));
          return;
        }
        body.once('error', (err) => out.destroy(err));
        body.pipe(out);
      },
      (err: unknown) => out.destroy(err instanceof Error ? err : new Error(String(err))),
    );
    return out;
  }

  /**
   * Signed for this version where the bucket keeps versions. If-Match cannot be
   * signed in: it would be a header the client must send, and a plain GET of
   * the URL would be refused. Unversioned, the URL serves whatever the key
   * holds until it expires, so the caller keeps its lifetime short.
   */
  async presign({ expiresInSeconds, contentType, contentDisposition }: PresignOptions): Promise<string> {
    const request = new GetObjectCommand({
      Bucket: this.bucket,
      Key: this.key,
      VersionId: this.versionId,
      ResponseContentType: contentType,
      ResponseContentDisposition: contentDisposition,
    });
    return getSignedUrl(this.client, request, { expiresIn: expiresInSeconds });
  }

  async close(): Promise<void> {
    // Nothing is held open between requests.
  }
}
