import type { Writable } from 'node:stream';

/** Where a finished file was published. */
export interface StoredFile {
  /** A URI for the file: `file:///…` for local disk. */
  readonly location: string;
  /** The name it was published under (may differ from the wanted one after a collision). */
  readonly filename: string;
}

/**
 * One attempt's bytes on their way into storage. Nothing is visible under the
 * final name until `commit` publishes it whole.
 */
export interface PartWriter {
  readonly writable: Writable;
  /** Makes the bytes durable and publishes them atomically under `filename` (or a numbered variant if taken). */
  commit(filename: string): Promise<StoredFile>;
  /** Throws the bytes away. Safe to call after a failed commit and more than once. */
  discard(): Promise<void>;
}

export interface Storage {
  openPart(jobId: string, attempt: number): Promise<PartWriter>;
}
