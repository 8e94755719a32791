import type { Readable } from 'node:stream';
import type { Checkpoint } from './checkpoint.js';

/** What to do when a file of the wanted name already exists. */
export type ConflictPolicy = 'rename' | 'overwrite' | 'fail';

/**
 * Where a finished file goes. Each namespace (an API key's name) has names of
 * its own: a file of one never replaces, reveals or renames around another's.
 */
export interface PublishTarget {
  readonly namespace: string;
  /** The name wanted inside the namespace. */
  readonly filename: string;
  readonly policy: ConflictPolicy;
  /** The media type the origin sent, for a backend that stores one with the file (S3's Content-Type); local disk keeps none. */
  readonly contentType?: string | undefined;
}

/** Where a finished file was published. */
export interface StoredFile {
  /** A URI for the file: `file:///…` for local disk. */
  readonly location: string;
  /** The name it was published under (may differ from the wanted one after a collision). */
  readonly filename: string;
  /**
   * Identifies these very bytes in storage: a later file published under the
   * same name (overwrite) has another, so a reader can tell it is not this one.
   */
  readonly version: string;
}

/** A published file as a download's result describes it, to open for reading. */
export interface StoredFileRef {
  readonly namespace: string;
  readonly location: string;
  /** The version recorded at publish; absent for files published before versions were recorded. */
  readonly version: string | undefined;
  /** The sha256 of the bytes, hex: proves the bytes when the version no longer matches (a restored copy). */
  readonly sha256: string;
}

/** A published file opened for reading: its bytes cannot change under the reader. */
export interface StoredReader {
  readonly size: number;
  readonly modifiedAt: Date;
  /** The bytes from `start` to `end` inclusive (the whole file without a range). */
  stream(range?: { readonly start: number; readonly end: number }): Readable;
  /** Releases the file; streams already made keep it open until they end. */
  close(): Promise<void>;
  /**
   * A URL anyone holding it can GET these bytes from until it expires, where
   * the backend has one (S3); it serves the version opened where the server
   * keeps versions, and otherwise what is stored under the key when it is used.
   */
  presign?(options: PresignOptions): Promise<string>;
}

/** How a presigned URL answers: its lifetime, and the headers the client should get (the server names them, not the stored object). */
export interface PresignOptions {
  readonly expiresInSeconds: number;
  readonly contentType: string;
  readonly contentDisposition: string;
}

/**
 * `missing`: nothing is stored there any more (or the location is not this
 * storage's). `replaced`: something else is stored there now.
 */
export type OpenedStoredFile = { readonly found: true; readonly reader: StoredReader } | { readonly found: false; readonly why: 'missing' | 'replaced' };

/** What a checkpoint records of a part: everything of `Checkpoint` but the origin's validator and size. */
export type ResumePoint = Pick<Checkpoint, 'part' | 'bytes' | 'digests' | 'state' | 'segments'>;

export interface PartOptions {
  /**
   * Saves the hash state of every byte written to the part so far. A backend
   * that cannot read kept bytes back calls it where a resume point ends and
   * records the answer as the checkpoint's `digests`. Its answer is right only
   * if the caller hashes each chunk just before writing it, with nothing between.
   */
  readonly saveDigests?: () => string;
  /**
   * Where `commit` will publish, when the caller knows it already: S3 then
   * uploads straight under the final key (not visible before the upload
   * completes) instead of copying it there at commit. `commit` must be given
   * the same target.
   */
  readonly target?: PublishTarget;
  /** Stops a resume's copy of the kept prefix (a pause, a cancel): see `Storage.resumePart`. */
  readonly signal?: AbortSignal;
}

/**
 * One attempt's bytes on their way into storage. Nothing is visible under the
 * final name until `commit` publishes it whole.
 */
export interface PartWriter {
  /** The part's name, as a checkpoint records it. */
  readonly name: string;
  /** Queues the next chunk. False means: wait for `drained` before writing more. */
  write(chunk: Buffer): boolean;
  /** Resolves when there is room for more chunks or writing failed (see `failure`); rejects only when `signal` aborts. */
  drained(signal?: AbortSignal): Promise<void>;
  /** Waits until every queued chunk is written (or writing failed); never rejects. */
  flush(): Promise<void>;
  /** The error that stopped the writes, if one did; later chunks are dropped. */
  readonly failure: Error | undefined;
  /** Bytes the storage has accepted so far (not merely queued), from the start with no gap. */
  bytesWritten(): number;
  /**
   * Where a later attempt could continue if this one stopped now, even by a kill:
   * bytes that are durable (on S3, whole uploaded parts; after `keep`, all of them).
   */
  resumePoint(): ResumePoint;
  /** Makes the bytes durable and publishes them atomically under the target's name, as its policy says when the name is taken. */
  commit(target: PublishTarget): Promise<StoredFile>;
  /** Flushes and closes the part but keeps it, for a later attempt to resume; returns the bytes it holds. */
  keep(): Promise<number>;
  /** Throws the bytes away. Safe to call after a failed commit and more than once. */
  discard(): Promise<void>;
  /**
   * Stops writing and leaves the part as it stands, reporting nothing: the job has another owner
   * (this worker lost its lock), who continues from the last checkpoint this part reported, on S3
   * in this very multipart upload. A part that nobody resumes is the janitor's.
   */
  abandon(): Promise<void>;
}

/** One segment of an `OffsetPartWriter`: its chunks go to the file in order from the segment's offset. */
export interface SegmentWriter {
  /** Queues the next chunk. False means: wait for `drained` before writing more. */
  write(chunk: Buffer): boolean;
  drained(signal?: AbortSignal): Promise<void>;
  /** Waits until every queued chunk is written (or writing failed); never rejects. */
  flush(): Promise<void>;
  readonly failure: Error | undefined;
  /** Bytes written from the segment's offset with no gap. */
  bytesWritten(): number;
}

/**
 * A part of known size that several connections write at once, each segment at
 * its own offset. Its own `write` is the segment at offset 0; `bytesWritten` and
 * `resumePoint` count the bytes from the start with no gap (a later segment's
 * bytes count once every byte before them is there).
 */
export interface OffsetPartWriter extends PartWriter {
  segment(offset: number): SegmentWriter;
  /**
   * Passes bytes `start` up to `end` (exclusive), once flushed, to `onChunk` in file order: to hash what other segments wrote.
   * A chunk is valid only during its call: its memory is reused for the next one.
   */
  readBack(start: number, end: number, onChunk: (chunk: Buffer) => void, signal?: AbortSignal): Promise<void>;
}

/** A part file found on storage, for the janitor. */
export interface StoredPart {
  readonly name: string;
  readonly jobId: string;
  readonly modifiedAt: number;
}

export interface Storage {
  /**
   * True for a backend that cannot read a kept part back (S3): its resumePart
   * never calls `onPrefix`, so the caller hashes with a state it can save
   * (`PartOptions.saveDigests`) and continues from the checkpoint's `digests`.
   * @defaultValue `false`: resumePart passes the kept prefix to `onPrefix`
   */
  readonly resumesFromSavedDigests?: boolean;
  openPart(jobId: string, attempt: number, options?: PartOptions): Promise<PartWriter>;
  /**
   * Starts this attempt's part with the first `checkpoint.bytes` bytes of an
   * earlier attempt's part (called once the origin agreed to send the rest), passing each chunk to `onPrefix` (to hash it), then
   * removes the earlier part. Undefined when that part is gone or shorter.
   * When `options.signal` aborts (a pause, a cancel) the copy stops and the call
   * rejects with the signal's reason; the new part is discarded and the earlier one kept.
   */
  resumePart(jobId: string, attempt: number, checkpoint: Checkpoint, onPrefix: (chunk: Buffer) => void, options?: PartOptions): Promise<PartWriter | undefined>;
  /**
   * A part of `size` bytes written at offsets, for segmented downloads. Absent on
   * a backend that cannot (S3): the engine then uses one connection.
   */
  openOffsetPart?(jobId: string, attempt: number, size: number, options?: PartOptions): Promise<OffsetPartWriter>;
  /**
   * An offset part of `checkpoint.totalBytes` holding the earlier part's kept
   * runs (`checkpoint.segments`), copied as resumePart copies a prefix (the
   * earlier part removed after); `segment(offset)` at a run's end continues it.
   * Undefined when that part is gone or the checkpoint names no segments.
   */
  resumeOffsetPart?(jobId: string, attempt: number, checkpoint: Checkpoint, options?: PartOptions): Promise<OffsetPartWriter | undefined>;
  listParts(): Promise<StoredPart[]>;
  removePart(name: string): Promise<void>;
  /** Opens a published file, if what is stored there is still the file `ref` describes. */
  openStored(ref: StoredFileRef): Promise<OpenedStoredFile>;
}
