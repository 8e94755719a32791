import type { FileHandle } from 'node:fs/promises';
import { ProgressWaiters } from './progress-waiters.js';

/**
 * Chunks queued or being written before `append` asks the caller to wait: room
 * for the batch being written and the next one filling up behind it.
 */
const MAX_PENDING_BYTES = 4 * 1024 * 1024;
/**
 * The same for each appender of a file written at offsets once more than one writes it: their writes
 * take turns on one file, so more pending only holds memory. Alone (a download not split), an appender
 * keeps MAX_PENDING_BYTES: with 1 MiB the next batch could not queue while one was written, and one
 * connection into an offset part cost 4.3 s of CPU per GiB against 2.8 s into a plain part (bench/README.md). Four 1 GiB downloads in 4 segments at
 * once peaked at 250 MB RSS with 4 MiB a segment, 185 MB with 1 MiB (bench/segmented.mjs).
 */
const SEGMENT_MAX_PENDING_BYTES = 1024 * 1024;
/**
 * One writev's worth. One write at a time, not two: ext4 holds the inode lock
 * through a buffered write, so a second writev to the same file only spins on
 * that lock, burning CPU the download needs (measured in bench/README.md).
 */
const MAX_BATCH_BYTES = 2 * 1024 * 1024;
// Below Linux's IOV_MAX (1024), so one writev never has to be split by the kernel interface.
const MAX_BATCH_CHUNKS = 512;
/**
 * Every this many bytes written, an fdatasync runs beside the writes, so the
 * kernel writes the file back while the download goes on and the fsync before
 * publishing only has the tail left to flush.
 */
const SYNC_EVERY_BYTES = 64 * 1024 * 1024;

/** writev can write fewer bytes than asked (a full disk does that before it fails): write the rest. */
async function writevAll(opening: Promise<FileHandle>, chunks: Buffer[], position: number): Promise<void> {
  const handle = await opening;
  let rest = chunks;
  let at = position;
  for (;;) {
    const { bytesWritten } = await handle.writev(rest, at);
    at += bytesWritten;
    let skipped = bytesWritten;
    let done = 0;
    while (done < rest.length && skipped >= rest[done]!.length) {
      skipped -= rest[done]!.length;
      done += 1;
    }
    if (done === rest.length) return;
    if (bytesWritten === 0) throw Object.assign(new Error('writev wrote no bytes'), { code: 'EIO' });
    rest = [rest[done]!.subarray(skipped), ...rest.slice(done + 1)];
  }
}

/**
 * Lets appenders of one file take turns: ext4 holds the inode lock through a
 * buffered write, so two writevs to one file at once only spin on it.
 */
export class WriteTurns {
  #tail: Promise<unknown> = Promise.resolve();
  #appenders = 0;

  /** True once more than one appender writes the file. */
  get shared(): boolean {
    return this.#appenders > 1;
  }

  join(): void {
    this.#appenders += 1;
  }

  run<T>(write: () => Promise<T>): Promise<T> {
    const turn = this.#tail.then(write);
    this.#tail = turn.catch(() => undefined);
    return turn;
  }
}

/**
 * Appends chunks to an open file without making the producer take turns with
 * the disk: chunks are queued and written in batches, one writev at a time on
 * the thread pool while the next batch fills, and the producer waits only when
 * several MiB are pending. The first write error stops all writing and is kept
 * in `failure`.
 */
export class FileAppender {
  #queued: Buffer[] = [];
  #queuedBytes = 0;
  /** Bytes of the batch being written; 0 when none is. */
  #writingBytes = 0;
  #written = 0;
  #sinceSync = 0;
  #syncing: Promise<void> | undefined;
  #failure: Error | undefined;
  readonly #waiters = new ProgressWaiters();

  /**
   * `handle` may still be opening: an open that fails fails the first write, like any other storage error.
   * `base`: where in the file the first chunk goes (a segment of a file written at offsets);
   * `turns`: shared by the appenders of one such file.
   */
  constructor(
    private readonly handle: Promise<FileHandle>,
    private readonly base = 0,
    private readonly turns?: WriteTurns,
  ) {
    turns?.join();
  }

  get #maxPendingBytes(): number {
    return this.turns?.shared === true ? SEGMENT_MAX_PENDING_BYTES : MAX_PENDING_BYTES;
  }

  /** The error that stopped the writes, if one did. */
  get failure(): Error | undefined {
    return this.#failure;
  }

  /** Bytes on the file from `base` with no gap: what a resume can rely on. */
  bytesWritten(): number {
    return this.#written;
  }

  get #pendingBytes(): number {
    return this.#queuedBytes + this.#writingBytes;
  }

  /** Queues a chunk. False means: wait for `drained` before the next one. */
  append(chunk: Buffer): boolean {
    if (this.#failure !== undefined || chunk.length === 0) return this.#failure === undefined;
    this.#queued.push(chunk);
    this.#queuedBytes += chunk.length;
    this.#startWrite();
    return this.#pendingBytes < this.#maxPendingBytes;
  }

  /** Resolves once there is room for more chunks, or writing failed (see `failure`); rejects only when `signal` aborts. */
  async drained(signal?: AbortSignal): Promise<void> {
    while (this.#pendingBytes >= this.#maxPendingBytes && this.#failure === undefined) {
      signal?.throwIfAborted();
      await this.#waiters.wait(signal);
    }
  }

  /** Writes everything queued and waits for it and for a background sync; never rejects (see `failure`). */
  async flush(): Promise<void> {
    while (this.#pendingBytes > 0 && this.#failure === undefined) await this.#waiters.wait();
    await this.settle();
  }

  /** Drops the chunks not yet written and waits for the write and sync in flight, so the file can be closed. */
  async settle(): Promise<void> {
    this.#queued = [];
    this.#queuedBytes = 0;
    while (this.#writingBytes > 0 && this.#failure === undefined) await this.#waiters.wait();
    await this.#syncing;
  }

  #startWrite(): void {
    if (this.#failure !== undefined || this.#writingBytes > 0 || this.#queuedBytes === 0) return;
    let count = 0;
    let bytes = 0;
    while (count < this.#queued.length && count < MAX_BATCH_CHUNKS && (count === 0 || bytes + this.#queued[count]!.length <= MAX_BATCH_BYTES)) {
      bytes += this.#queued[count]!.length;
      count += 1;
    }
    const chunks = this.#queued.splice(0, count);
    this.#queuedBytes -= bytes;
    this.#writingBytes = bytes;
    const at = this.base + this.#written;
    (this.turns === undefined ? writevAll(this.handle, chunks, at) : this.turns.run(() => writevAll(this.handle, chunks, at))).then(
      () => {
        this.#writingBytes = 0;
        this.#written += bytes;
        this.#sinceSync += bytes;
        this.#syncInBackground();
        this.#startWrite();
        this.#waiters.wake();
      },
      (err: Error) => {
        this.#failure ??= err;
        this.#waiters.wake();
      },
    );
  }

  #syncInBackground(): void {
    if (this.#sinceSync < SYNC_EVERY_BYTES || this.#syncing !== undefined) return;
    this.#sinceSync = 0;
    // Only a head start for the final fsync, which reports any error: a failure here changes nothing.
    this.#syncing = this.handle
      .then((handle) => handle.datasync())
      .then(
        () => {
          this.#syncing = undefined;
        },
        () => {
          this.#syncing = undefined;
        },
      );
  }
}
