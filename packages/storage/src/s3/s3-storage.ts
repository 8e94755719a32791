import { createHash } from 'node:crypto';
import type { Readable } from 'node:stream';
import { GetObjectCommand, HeadObjectCommand, ListObjectsV2Command, S3Client, type S3ClientConfig } from '@aws-sdk/client-s3';
import type { Checkpoint } from '../checkpoint.js';
import { partFileName } from '../part-name.js';
import type { OpenedStoredFile, PartOptions, PartWriter, Storage, StoredFileRef, StoredPart } from '../storage.js';
import { abortUpload, deleteObject, putMarker, readMarker, readMarkerBytes } from './part-marker.js';
import { isNotFound, isPreconditionFailed } from './s3-errors.js';
import { S3Keys } from './s3-keys.js';
import { PartBufferPool } from './part-buffer-pool.js';
import { S3PartWriter, type S3PartSetup } from './s3-part-writer.js';
import { S3StoredReader } from './s3-stored-reader.js';
import { S3UploadState } from './s3-upload-state.js';

const MiB = 1024 * 1024;
/** S3's smallest part but the last. */
export const MIN_PART_SIZE = 5 * MiB;
/** S3's largest part. */
export const MAX_PART_SIZE = 5 * 1024 * MiB;
export const DEFAULT_PART_SIZE = 8 * MiB;
export const DEFAULT_PARTS_IN_FLIGHT = 2;
/**
 * Part buffers of all downloads together: one for each of a worker's four
 * downloads at once (FERRY_WORKER_CONCURRENCY's default); a download running
 * alone still gets partsInFlight + 1 and sends as fast as with buffers of its
 * own. On a quiet machine four 1 GiB downloads at once peaked at 179 MB of RSS
 * with 4 (90 MB/s in all), 200–209 MB with 6 (97–103 MB/s), and 237 MB with 3
 * buffers per download on a loaded one (bench/README.md).
 */
export const DEFAULT_PART_BUFFERS = 4;

/** How the backend reaches S3 when it is not handed a client; credentials always come from the default AWS chain. */
export interface S3ClientOptions {
  /** For S3-compatible servers (MinIO, R2, Ceph RGW); AWS's own endpoint when absent. */
  readonly endpoint?: string | undefined;
  /** @defaultValue the AWS chain's region (AWS_REGION, shared config) */
  readonly region?: string | undefined;
  /** Bucket in the path rather than the host name, as MinIO and most S3-compatible servers want. @defaultValue `false` */
  readonly forcePathStyle?: boolean | undefined;
}

export interface S3StorageOptions {
  /** A client to use as it is, or how to make one. */
  readonly client: S3Client | S3ClientOptions;
  readonly bucket: string;
  /** Put before every key, as given: end it with `/` to keep Ferry's keys in a folder. @defaultValue `''` */
  readonly keyPrefix?: string | undefined;
  /**
   * Bytes per upload part, from 5 MiB to 5 GiB; a file has at most 10,000
   * parts (80 GB at the default).
   * @defaultValue 8 MiB
   */
  readonly partSize?: number | undefined;
  /**
   * Upload parts one download sends at once. A download holds these and the
   * part it fills in memory: up to (partsInFlight + 1) part buffers, 24 MiB at
   * the defaults; a worker killed mid-download loses as many parts at most.
   * @defaultValue 2
   */
  readonly partsInFlight?: number | undefined;
  /**
   * Part buffers (each partSize + 1 MiB, of which about partSize is touched)
   * that all downloads of this storage share: its memory for parts, 32 MiB at
   * the defaults, however many downloads run. A download that finds none free
   * waits until another's part is sent. Give at least one per download run at
   * once, or a download whose origin stalls mid-part can hold up the others.
   * @defaultValue 4
   */
  readonly partBuffers?: number | undefined;
}

const PART_NAME = /^[A-Za-z0-9_-]+\.\d+\.[0-9a-f]+\.part$/;
const isPartName = (name: string): boolean => PART_NAME.test(name);

// Not instanceof: a client from another copy of the SDK in node_modules is a client too.
const isClient = (client: S3Client | S3ClientOptions): client is S3Client => typeof (client as Partial<S3Client>).send === 'function';

function clientFrom(options: S3ClientOptions): S3Client {
  // The SDK's default (WHEN_SUPPORTED) adds a CRC32 of every part and checks one on every GET, computed in
  // JavaScript: CPU for what the engine's sha256 of the whole file already proves (bench/README.md).
  const config: S3ClientConfig = { requestChecksumCalculation: 'WHEN_REQUIRED', responseChecksumValidation: 'WHEN_REQUIRED' };
  if (options.endpoint !== undefined) config.endpoint = options.endpoint;
  if (options.region !== undefined) config.region = options.region;
  if (options.forcePathStyle !== undefined) config.forcePathStyle = options.forcePathStyle;
  return new S3Client(config);
}

async function sha256Of(body: Readable): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of body) hash.update(chunk as Buffer);
  return hash.digest('hex');
}

/**
 * Files in one S3 bucket (AWS S3 or a compatible server), laid out as
 * `S3Keys` says. Published files are never written in place: a part is an
 * upload on its own key, copied under the final key whole at commit.
 */
export class S3Storage implements Storage {
  readonly resumesFromSavedDigests = true;
  readonly client: S3Client;
  readonly bucket: string;
  readonly partSize: number;
  readonly partsInFlight: number;
  readonly #keys: S3Keys;
  readonly #buffers: PartBufferPool;

  constructor(options: S3StorageOptions) {
    const partSize = options.partSize ?? DEFAULT_PART_SIZE;
    if (!Number.isInteger(partSize) || partSize < MIN_PART_SIZE || partSize > MAX_PART_SIZE) {
      throw new Error(`an S3 part size must be a whole number of bytes from ${MIN_PART_SIZE} (5 MiB) to ${MAX_PART_SIZE} (5 GiB), not ${partSize}`);
    }
    const partsInFlight = options.partsInFlight ?? DEFAULT_PARTS_IN_FLIGHT;
    if (!Number.isInteger(partsInFlight) || partsInFlight < 1) throw new Error(`the S3 parts in flight must be a whole number from 1, not ${partsInFlight}`);
    const partBuffers = options.partBuffers ?? DEFAULT_PART_BUFFERS;
    if (!Number.isInteger(partBuffers) || partBuffers < 1) throw new Error(`the S3 part buffers must be a whole number from 1, not ${partBuffers}`);
    if (options.bucket.length === 0) throw new Error('an S3 bucket name must not be empty');
    this.client = isClient(options.client) ? options.client : clientFrom(options.client);
    this.bucket = options.bucket;
    this.partSize = partSize;
    this.partsInFlight = partsInFlight;
    this.#buffers = new PartBufferPool(partSize, partBuffers);
    this.#keys = new S3Keys(options.bucket, options.keyPrefix ?? '');
  }

  async openPart(jobId: string, attempt: number, options?: PartOptions): Promise<PartWriter> {
    return new S3PartWriter(this.#setup(), partFileName(jobId, attempt), options);
  }

  /**
   * Continues the checkpoint's multipart upload under a new part name (S3 cannot
   * read an unfinished upload back, so `onPrefix` is never called: the caller
   * continues from `checkpoint.digests`). The parts done come from the checkpoint,
   * not ListParts; the upload's parts are checked by CompleteMultipartUpload,
   * which refuses an ETag that is not the part's.
   */
  async resumePart(
    jobId: string,
    attempt: number,
    checkpoint: Checkpoint,
    _onPrefix: (chunk: Buffer) => void,
    options?: PartOptions,
  ): Promise<PartWriter | undefined> {
    options?.signal?.throwIfAborted();
    const parsed = S3UploadState.safeParse(checkpoint.state);
    if (!parsed.success || checkpoint.digests === undefined || !isPartName(checkpoint.part)) return undefined;
    const state = parsed.data;
    const uploaded = state.sizes.reduce((sum, size) => sum + size, 0);
    if (uploaded + state.tail !== checkpoint.bytes || (state.upload === undefined && uploaded > 0)) return undefined;
    const marker = await readMarker(this.client, this.#keys, checkpoint.part);
    if (marker === undefined || marker.upload?.id !== state.upload?.id || marker.size < state.tail) return undefined;
    const tail = await readMarkerBytes(this.client, this.#keys, checkpoint.part, marker, state.tail).catch((err: unknown) => {
      if (isNotFound(err) || isPreconditionFailed(err)) return undefined;
      throw err;
    });
    if (tail === undefined) return undefined;
    const name = partFileName(jobId, attempt);
    // The new marker exists before the old one goes, so the upload always has one for the janitor to find.
    await putMarker(this.client, this.#keys, name, state.upload, tail);
    await deleteObject(this.client, this.#keys, this.#keys.markerKey(checkpoint.part));
    const parts = state.etags.map((etag, i) => ({ etag, size: state.sizes[i]! }));
    return new S3PartWriter(this.#setup(), name, options, { upload: state.upload, parts, tail, digests: checkpoint.digests });
  }

  /** Parts in progress and kept ones, by their markers, aged by the marker's last write. */
  async listParts(): Promise<StoredPart[]> {
    const parts: StoredPart[] = [];
    const prefix = this.#keys.partsPrefix;
    let token: string | undefined;
    do {
      const page = await this.client.send(new ListObjectsV2Command({ Bucket: this.bucket, Prefix: prefix, ContinuationToken: token }));
      for (const object of page.Contents ?? []) {
        const name = object.Key?.slice(prefix.length) ?? '';
        if (name.length === 0 || name.includes('/')) continue;
        parts.push({ name, jobId: name.slice(0, name.indexOf('.')), modifiedAt: object.LastModified?.getTime() ?? 0 });
      }
      token = page.IsTruncated === true ? page.NextContinuationToken : undefined;
    } while (token !== undefined);
    return parts;
  }

  /** Aborts the part's upload and removes its marker (or a staged object a crashed commit left). */
  async removePart(name: string): Promise<void> {
    if (name.length === 0 || name.includes('/')) throw new Error(`not a part file name: ${name}`);
    const marker = await readMarker(this.client, this.#keys, name);
    if (marker?.upload !== undefined) await abortUpload(this.client, this.#keys, marker.upload);
    await deleteObject(this.client, this.#keys, this.#keys.markerKey(name));
  }

  /**
   * Opens the object if it is still the one published: same version (ETag, or
   * VersionId on a versioned bucket), or other bytes with the recorded sha256
   * (a restored copy), which costs reading it once.
   */
  async openStored(ref: StoredFileRef): Promise<OpenedStoredFile> {
    const key = this.#keys.keyOf(ref.location);
    const folder = this.#keys.namespacePrefix(ref.namespace);
    if (key === undefined || !key.startsWith(folder) || key.slice(folder.length).includes('/')) return { found: false, why: 'missing' };
    let head;
    try {
      head = await this.client.send(new HeadObjectCommand({ Bucket: this.bucket, Key: key }));
    } catch (err) {
      if (isNotFound(err)) return { found: false, why: 'missing' };
      throw err;
    }
    const etag = head.ETag;
    if (etag === undefined) throw new Error(`the S3 server answered for ${key} without an ETag`);
    const version = head.VersionId ?? etag;
    if (version !== ref.version && !(await this.#holdsSha256(key, etag, ref.sha256))) return { found: false, why: 'replaced' };
    const reader = new S3StoredReader(this.client, this.bucket, key, etag, head.VersionId, head.ContentLength ?? 0, head.LastModified ?? new Date(0));
    return { found: true, reader };
  }

  async #holdsSha256(key: string, etag: string, sha256: string): Promise<boolean> {
    try {
      const got = await this.client.send(new GetObjectCommand({ Bucket: this.bucket, Key: key, IfMatch: etag }));
      return got.ETag === etag && (await sha256Of(got.Body as Readable)) === sha256;
    } catch (err) {
      if (isNotFound(err) || isPreconditionFailed(err)) return false;
      throw err;
    }
  }

  #setup(): S3PartSetup {
    return { client: this.client, keys: this.#keys, partSize: this.partSize, partsInFlight: this.partsInFlight, buffers: this.#buffers };
  }
}
