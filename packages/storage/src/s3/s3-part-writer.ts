import {
  CompleteMultipartUploadCommand,
  CopyObjectCommand,
  CreateMultipartUploadCommand,
  PutObjectCommand,
  UploadPartCommand,
  type S3Client,
} from '@aws-sdk/client-s3';
import { FerryError } from '@ferry/contract';
import { fileExists } from '../free-name.js';
import type { PartOptions, PartWriter, PublishTarget, ResumePoint, StoredFile } from '../storage.js';
import { abortUpload, deleteObject, putMarker, type Upload } from './part-marker.js';
import { firstFreeName, publishObject, writeIfFree } from './publish-object.js';
import type { S3Keys } from './s3-keys.js';
import type { S3UploadState } from './s3-upload-state.js';
import { ProgressWaiters } from '../progress-waiters.js';
import { PartBuffer } from './part-buffer.js';
import type { PartBufferPool } from './part-buffer-pool.js';

/** S3 allows this many parts per multipart upload. */
export const MAX_UPLOAD_PARTS = 10_000;
/** The janitor ages a part by its marker; a part in progress writes it again at most this often. */
const MARKER_REFRESH_MS = 60_000;
const EMPTY = Buffer.alloc(0);

export interface UploadedPart {
  readonly etag: string;
  readonly size: number;
}

export interface S3PartSetup {
  readonly client: S3Client;
  readonly keys: S3Keys;
  /** Bytes per upload part (S3: at least 5 MiB but the last); a part is cut at the first chunk that reaches it. */
  readonly partSize: number;
  /** Upload parts sent at once; memory holds these and the one being filled. */
  readonly partsInFlight: number;
  /** Where every part's buffer comes from: shared by the storage's downloads. */
  readonly buffers: PartBufferPool;
}

/** Where a resumed part starts: its upload, the parts done, the kept bytes after them and the digests after those. */
export interface S3PartStart {
  readonly upload: Upload | undefined;
  readonly parts: readonly UploadedPart[];
  readonly tail: Buffer;
  readonly digests: string | undefined;
}

function versionOf(output: { VersionId?: string | undefined; ETag?: string | undefined }): string {
  const version = output.VersionId ?? output.ETag;
  if (version === undefined) throw new Error('the S3 server answered a write without an ETag');
  return version;
}

/**
 * Streams a part into a multipart upload, `partsInFlight` upload parts at a
 * time: it holds those and the part being filled, at most (partsInFlight + 1)
 * buffers of the storage's pool, fewer when other downloads hold the rest. A
 * file smaller than one upload part never starts an upload and is published
 * with one PutObject. The upload goes under the final key when the target is
 * known at open, and commit completes it there; otherwise under a staged key in
 * `.parts/`, completed and copied to the final key at commit. Either way nothing
 * is visible under a final key before the whole file is.
 */
export class S3PartWriter implements PartWriter {
  readonly #setup: S3PartSetup;
  readonly #saveDigests: (() => string) | undefined;
  readonly #target: PublishTarget | undefined;
  readonly #abort = new AbortController();
  readonly #waiters = new ProgressWaiters();
  readonly #buffered: PartBuffer;
  #accepted = 0;
  readonly #parts: UploadedPart[] = [];
  #partsBytes = 0;
  #digestsAtParts: string | undefined;
  /** Bytes after the parts that the marker keeps (a kept or resumed part), and the digests after them. */
  #tail: { readonly bytes: number; readonly digests: string | undefined } | undefined;
  #upload: Upload | undefined;
  /** The completed upload's object, between CompleteMultipartUpload and its copy to the final key. */
  #staged: string | undefined;
  #markerWrittenAt: number | undefined;
  readonly #inFlight = new Set<Promise<void>>();
  /** Parts sent but finished out of order, until every part before them is done. */
  readonly #doneAhead = new Map<number, UploadedPart & { readonly digests: string | undefined }>();
  #nextNumber = 1;
  #creating: Promise<Upload> | undefined;
  #failure: Error | undefined;
  #closed = false;

  constructor(
    setup: S3PartSetup,
    readonly name: string,
    options: PartOptions = {},
    start?: S3PartStart,
  ) {
    this.#setup = setup;
    this.#buffered = new PartBuffer(setup.buffers);
    this.#saveDigests = options.saveDigests;
    this.#target = options.target;
    if (start === undefined) return;
    this.#upload = start.upload;
    for (const part of start.parts) this.#addPart(part);
    this.#nextNumber = this.#parts.length + 1;
    this.#accepted = this.#partsBytes;
    this.#digestsAtParts = start.digests;
    this.#markerWrittenAt = Date.now();
    if (start.tail.length === 0) return;
    this.#tail = { bytes: start.tail.length, digests: start.digests };
    this.#buffered.append(start.tail);
    this.#accepted += start.tail.length;
  }

  get failure(): Error | undefined {
    return this.#failure;
  }

  write(chunk: Buffer): boolean {
    if (this.#failure !== undefined || this.#closed) return false;
    if (chunk.length > 0) {
      this.#buffered.append(chunk);
      this.#accepted += chunk.length;
      this.#startUpload();
    }
    return this.#hasRoom();
  }

  async drained(signal?: AbortSignal): Promise<void> {
    while (!this.#hasRoom()) {
      signal?.throwIfAborted();
      if (this.#buffered.waiting) {
        await this.#buffered.fill(signal);
        this.#startUpload();
      } else {
        await this.#waiters.wait(signal);
      }
    }
  }

  async flush(): Promise<void> {
    while (this.#inFlight.size > 0) await Promise.all([...this.#inFlight]);
  }

  bytesWritten(): number {
    return this.#accepted;
  }

  resumePoint(): ResumePoint {
    const tail = this.#tail;
    const state: S3UploadState = {
      upload: this.#upload,
      etags: this.#parts.map((part) => part.etag),
      sizes: this.#parts.map((part) => part.size),
      tail: tail?.bytes ?? 0,
    };
    return { part: this.name, bytes: this.#partsBytes + state.tail, digests: tail === undefined ? this.#digestsAtParts : tail.digests, state };
  }

  async keep(): Promise<number> {
    await this.flush();
    if (this.#failure !== undefined) throw this.#failure;
    const body = this.#buffered.whole();
    await putMarker(this.#setup.client, this.#setup.keys, this.name, this.#upload, body);
    this.#markerWrittenAt = Date.now();
    this.#tail = { bytes: body.length, digests: this.#saveDigests?.() };
    // The marker holds them now.
    this.#buffered.release();
    return this.#accepted;
  }

  async commit(target: PublishTarget): Promise<StoredFile> {
    this.#closed = true;
    await this.flush();
    if (this.#failure !== undefined) throw this.#failure;
    const { client, keys } = this.#setup;
    const body = this.#buffered.whole();
    let published: { filename: string; key: string; version: string };
    if (this.#upload === undefined) {
      published = await publishObject(client, keys, target, async (key, ifNoneMatch) =>
        versionOf(
          await client.send(
            new PutObjectCommand({
              Bucket: keys.bucket,
              Key: key,
              Body: body,
              ContentLength: body.length,
              ContentType: target.contentType,
              IfNoneMatch: ifNoneMatch,
            }),
          ),
        ),
      );
    } else if (this.#upload.direct !== undefined) {
      published = await this.#completeInPlace(this.#upload, this.#upload.direct, target, body);
    } else {
      if (body.length > 0 || this.#parts.length === 0) await this.#uploadPart(this.#nextNumber++, body, undefined);
      const staged = this.#upload.key;
      await this.#complete(this.#upload, undefined);
      published = await publishObject(client, keys, target, async (key, ifNoneMatch) => {
        const copied = await client.send(
          new CopyObjectCommand({
            Bucket: keys.bucket,
            Key: key,
            CopySource: keys.copySource(staged),
            IfNoneMatch: ifNoneMatch,
            // The staged upload began before the target (and its type) was known.
            ...(target.contentType === undefined ? {} : { MetadataDirective: 'REPLACE', ContentType: target.contentType }),
          }),
        );
        return versionOf({ VersionId: copied.VersionId, ETag: copied.CopyObjectResult?.ETag });
      });
    }
    // Kept until here: a failed commit leaves the bytes to keep() or discard().
    this.#buffered.release();
    // Published: what is left over is the janitor's to remove should this fail.
    await this.#removeLeftovers().catch(() => undefined);
    return { location: keys.location(published.key), filename: published.filename, version: published.version };
  }

  async discard(): Promise<void> {
    await this.#stop();
    if (this.#upload !== undefined) {
      await abortUpload(this.#setup.client, this.#setup.keys, this.#upload);
      this.#upload = undefined;
    }
    await this.#removeLeftovers();
  }

  async abandon(): Promise<void> {
    await this.#stop();
    // The multipart upload and its marker are the next owner's: its checkpoint names them.
    this.#upload = undefined;
    this.#markerWrittenAt = undefined;
    await this.#removeLeftovers();
  }

  /** Ends the writes: the part uploads in flight are cut off and every buffer goes back to the pool. */
  async #stop(): Promise<void> {
    this.#closed = true;
    this.#abort.abort();
    await this.flush();
    this.#buffered.release();
  }

  async #removeLeftovers(): Promise<void> {
    const { client, keys } = this.#setup;
    if (this.#staged !== undefined) {
      await deleteObject(client, keys, this.#staged);
      this.#staged = undefined;
    }
    if (this.#markerWrittenAt !== undefined) {
      await deleteObject(client, keys, keys.markerKey(this.name));
      this.#markerWrittenAt = undefined;
    }
  }

  #addPart(part: UploadedPart): void {
    this.#parts.push({ etag: part.etag, size: part.size });
    this.#partsBytes += part.size;
  }

  #hasRoom(): boolean {
    if (this.#failure !== undefined) return true;
    return !this.#buffered.waiting && (this.#inFlight.size < this.#setup.partsInFlight || this.#buffered.length < this.#setup.partSize);
  }

  /**
   * Sends what is buffered as the next upload part once it fills one and fewer
   * than `partsInFlight` are being sent. The digests are saved right here, when
   * the buffer is taken whole: the caller has hashed exactly the bytes written so far.
   */
  #startUpload(): void {
    const { partSize, partsInFlight } = this.#setup;
    if (this.#inFlight.size >= partsInFlight || this.#failure !== undefined || this.#buffered.waiting || this.#buffered.length < partSize) return;
    const body = this.#buffered.take();
    const sending: Promise<void> = this.#uploadPart(this.#nextNumber++, body, this.#saveDigests?.())
      .then(
        () => this.#setup.buffers.giveBack(body),
        (err: unknown) => {
          this.#setup.buffers.giveBack(body, false);
          this.#failure ??= err instanceof Error ? err : new Error(String(err));
        },
      )
      .finally(() => {
        this.#inFlight.delete(sending);
        this.#startUpload();
        this.#waiters.wake();
      });
    this.#inFlight.add(sending);
  }

  async #uploadPart(number: number, body: Buffer, digests: string | undefined): Promise<void> {
    const { client, keys, partSize } = this.#setup;
    if (number > MAX_UPLOAD_PARTS) {
      throw new Error(`a file stored on S3 has at most ${MAX_UPLOAD_PARTS} parts of ${partSize} bytes; set a larger S3 part size for files this large`);
    }
    // The first part sent starts the upload; the others wait for it.
    const upload = this.#upload ?? (await (this.#creating ??= this.#createUpload(body)));
    const signal = this.#abort.signal;
    const sent = await client.send(
      new UploadPartCommand({
        Bucket: keys.bucket,
        Key: upload.key,
        UploadId: upload.id,
        PartNumber: number,
        Body: body,
        ContentLength: body.length,
      }),
      { abortSignal: signal },
    );
    if (sent.ETag === undefined) throw new Error('the S3 server answered an upload part without an ETag');
    this.#doneAhead.set(number, { etag: sent.ETag, size: body.length, digests });
    // A resume point covers only parts with every part before them done.
    for (let next = this.#parts.length + 1, done = this.#doneAhead.get(next); done !== undefined; next += 1, done = this.#doneAhead.get(next)) {
      this.#doneAhead.delete(next);
      this.#addPart(done);
      this.#digestsAtParts = done.digests;
      this.#tail = undefined;
    }
    if (Date.now() - (this.#markerWrittenAt ?? 0) >= MARKER_REFRESH_MS) {
      this.#markerWrittenAt = Date.now();
      // Not aborted by discard: a PUT cut off mid-way may still land, and discard removes the marker after it.
      await putMarker(client, keys, this.name, upload, EMPTY);
    }
  }

  /**
   * Where the upload goes: straight under the final key when the caller said
   * which, so commit copies nothing (for `rename` the name free now; commit
   * checks again); under `.parts/` when it did not, or `fail` finds the name taken.
   */
  async #placeUpload(): Promise<Pick<Upload, 'key' | 'direct'>> {
    const { client, keys } = this.#setup;
    const wanted = this.#target;
    const filename = wanted === undefined ? undefined : await firstFreeName(client, keys, wanted);
    if (wanted === undefined || filename === undefined) return { key: keys.stagedKey(this.name) };
    return { key: keys.fileKey(wanted.namespace, filename), direct: { filename, wanted } };
  }

  /** Starts the upload, and its marker before any part exists, so the janitor finds it whatever happens next. */
  async #createUpload(firstPart: Buffer): Promise<Upload> {
    const { client, keys } = this.#setup;
    const place = await this.#placeUpload();
    // Not aborted by discard: an upload whose creation was cut off may exist with an id never learnt, which nothing could abort.
    const created = await client.send(new CreateMultipartUploadCommand({ Bucket: keys.bucket, Key: place.key, ContentType: this.#target?.contentType }));
    if (created.UploadId === undefined) throw new Error('the S3 server started a multipart upload without an id');
    const upload: Upload = { id: created.UploadId, ...place };
    this.#upload = upload;
    // A resumed part's marker keeps the bytes it started with until a part holds them.
    await putMarker(client, keys, this.name, upload, this.#tail === undefined ? EMPTY : firstPart.subarray(0, this.#tail.bytes));
    this.#markerWrittenAt = Date.now();
    return upload;
  }

  /** Completes the upload under its key, with `ifNoneMatch: '*'` only if nothing is stored there; answers the version. */
  async #complete(upload: Upload, ifNoneMatch: '*' | undefined): Promise<string> {
    const { client, keys } = this.#setup;
    const completed = await client.send(
      new CompleteMultipartUploadCommand({
        Bucket: keys.bucket,
        Key: upload.key,
        UploadId: upload.id,
        IfNoneMatch: ifNoneMatch,
        MultipartUpload: { Parts: this.#parts.map((part, i) => ({ PartNumber: i + 1, ETag: part.etag })) },
      }),
    );
    this.#upload = undefined;
    if (upload.direct === undefined) this.#staged = upload.key;
    return versionOf(completed);
  }

  /**
   * Publishes an upload made under its final key by completing it there, with
   * If-None-Match: * unless overwriting (see `writeIfFree`). A name taken since
   * the upload began cannot be moved away from, so `rename` then fails with a
   * retryable storage error, and the retry uploads under a free name.
   */
  async #completeInPlace(
    upload: Upload,
    direct: NonNullable<Upload['direct']>,
    target: PublishTarget,
    body: Buffer,
  ): Promise<{ filename: string; key: string; version: string }> {
    const { wanted, filename } = direct;
    if (target.namespace !== wanted.namespace || target.filename !== wanted.filename || target.policy !== wanted.policy) {
      throw new Error(`this part was uploaded to be published as ${wanted.filename} (${wanted.policy}), not as ${target.filename} (${target.policy})`);
    }
    if (body.length > 0 || this.#parts.length === 0) await this.#uploadPart(this.#nextNumber++, body, undefined);
    const { client, keys } = this.#setup;
    const complete = (_key: string, ifNoneMatch: '*' | undefined) => this.#complete(upload, ifNoneMatch);
    const version = target.policy === 'overwrite' ? await complete(upload.key, undefined) : await writeIfFree(client, keys, upload.key, complete);
    if (version !== undefined) return { filename, key: upload.key, version };
    if (target.policy === 'fail') throw fileExists(target.filename);
    throw new FerryError(
      'FERRY_ERR_STORAGE',
      `${filename} was published by another download while this one was uploading under it; a retry uploads under a free name`,
      {
        data: { filename },
      },
    );
  }
}
