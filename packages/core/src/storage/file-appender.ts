import type { FileHandle } from 'node:fs/promises';

/**
 * Chunks queued or being written before `append` asks the caller to wait. Small
 * on purpose: chunks written soon after they arrived are still in the CPU cache
 * when the kernel copies them; in bench/ 8 MiB was slower than 2 MiB, and slower
 * than no overlap at all.
 */
const MAX_PENDING_BYTES = 2 * 1024 * 1024;
/** Two writes in flight: the next one is already with the thread pool when the first returns, so the disk never waits on the event loop. */
const MAX_WRITES_IN_FLIGHT = 2;
const MAX_BATCH_BYTES = 1024 * 1024;
// Below Linux's IOV_MAX (1024), so one writev never has to be split by the kernel interface.
const MAX_BATCH_CHUNKS = 512;
/**
 * Every this many bytes written, an fdatasync runs beside the writes, so the
 * kernel writes the file back while the download goes on and the fsync before
 * publishing only has the tail left to flush.
 */
const SYNC_EVERY_BYTES = 64 * 1024 * 1024;

interface Batch {
  readonly chunks: Buffer[];
  readonly bytes: number;
  state: 'writing' | 'written' | 'failed';
}

/** writev can write fewer bytes than asked (a full disk does that before it fails): write the rest. */
async function writevAll(opening: Promise<FileHandle>, chunks: Buffer[], position: number): Promise<void> {
  const handle = await opening;
  let rest = chunks;
  let at = position;
  for (;;) {
    const { bytesWritten } = await handle.writev(rest, at);
    at += bytesWritten;
    let skipped = bytesWritten;
    while (rest.length > 0 && skipped >= rest[0]!.length) {
      skipped -= rest[0]!.length;
      rest = rest.slice(1);
    }
    if (rest.length === 0) return;
    if (bytesWritten === 0) throw Object.assign(new Error('writev wrote no bytes'), { code: 'EIO' });
    if (skipped > 0) rest = [rest[0]!.subarray(skipped), ...rest.slice(1)];
  }
}

/**
 * Appends chunks to an open file without making the producer take turns with
 * the disk: chunks are queued, written in batches at explicit offsets with up
 * to two writes in flight, and the producer waits only when several MiB are
 * pending. The first write error stops all writing and is kept in `failure`.
 */
export class FileAppender {
  #queued: Buffer[] = [];
  #queuedBytes = 0;
  #pendingBytes = 0;
  /** Batches in file order, from the oldest not yet counted in #written. */
  readonly #batches: Batch[] = [];
  #writing = 0;
  #nextPosition = 0;
  #written = 0;
  #sinceSync = 0;
  #syncing: Promise<void> | undefined;
  #failure: Error | undefined;
  readonly #waiters = new Set<() => void>();

  /** `handle` may still be opening: an open that fails fails the first write, like any other storage error. */
  constructor(private readonly handle: Promise<FileHandle>) {}

  /** The error that stopped the writes, if one did. */
  get failure(): Error | undefined {
    return this.#failure;
  }

  /** Bytes on the file from its start with no gap: what a resume can rely on. */
  bytesWritten(): number {
    return this.#written;
  }

  /** Queues a chunk. False means: wait for `drained` before the next one. */
  append(chunk: Buffer): boolean {
    if (this.#failure !== undefined || chunk.length === 0) return this.#failure === undefined;
    this.#queued.push(chunk);
    this.#queuedBytes += chunk.length;
    this.#pendingBytes += chunk.length;
    this.#startWrites();
    return this.#pendingBytes < MAX_PENDING_BYTES;
  }

  /** Resolves once there is room for more chunks, or writing failed (see `failure`); rejects only when `signal` aborts. */
  async drained(signal?: AbortSignal): Promise<void> {
    while (this.#pendingBytes >= MAX_PENDING_BYTES && this.#failure === undefined) {
      signal?.throwIfAborted();
      await this.#progress(signal);
    }
  }

  /** Writes everything queued and waits for it and for a background sync; never rejects (see `failure`). */
  async flush(): Promise<void> {
    while (this.#pendingBytes > 0 && this.#failure === undefined) {
      this.#startWrites();
      await this.#progress();
    }
    await this.settle();
  }

  /** Drops the chunks not yet written and waits for the writes and sync in flight, so the file can be closed. */
  async settle(): Promise<void> {
    this.#pendingBytes -= this.#queuedBytes;
    this.#queued = [];
    this.#queuedBytes = 0;
    while (this.#writing > 0) await this.#progress();
    await this.#syncing;
  }

  #progress(signal?: AbortSignal): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      const wake = () => {
        signal?.removeEventListener('abort', onAbort);
        resolve();
      };
      const onAbort = () => {
        this.#waiters.delete(wake);
        reject(signal!.reason);
      };
      signal?.addEventListener('abort', onAbort, { once: true });
      this.#waiters.add(wake);
    });
  }

  #notify(): void {
    const waiters = [...this.#waiters];
    this.#waiters.clear();
    for (const wake of waiters) wake();
  }

  #startWrites(): void {
    while (this.#failure === undefined && this.#queuedBytes > 0 && this.#writing < MAX_WRITES_IN_FLIGHT) this.#write(this.#takeBatch());
  }

  #takeBatch(): Batch {
    let count = 0;
    let bytes = 0;
    while (count < this.#queued.length && count < MAX_BATCH_CHUNKS && (count === 0 || bytes + this.#queued[count]!.length <= MAX_BATCH_BYTES)) {
      bytes += this.#queued[count]!.length;
      count += 1;
    }
    const chunks = this.#queued.splice(0, count);
    this.#queuedBytes -= bytes;
    return { chunks, bytes, state: 'writing' };
  }

  #write(batch: Batch): void {
    const position = this.#nextPosition;
    this.#nextPosition += batch.bytes;
    this.#batches.push(batch);
    this.#writing += 1;
    writevAll(this.handle, batch.chunks, position).then(
      () => {
        this.#writing -= 1;
        batch.state = 'written';
        // Batches can finish out of order; only a gap-free prefix counts as written.
        while (this.#batches[0]?.state === 'written') {
          const finished = this.#batches.shift()!;
          this.#written += finished.bytes;
          this.#pendingBytes -= finished.bytes;
          this.#sinceSync += finished.bytes;
        }
        this.#syncInBackground();
        this.#startWrites();
        this.#notify();
      },
      (err: Error) => {
        this.#writing -= 1;
        // Stays at the head of #batches: nothing after it can count as written.
        batch.state = 'failed';
        this.#failure ??= err;
        this.#notify();
      },
    );
  }

  #syncInBackground(): void {
    if (this.#sinceSync < SYNC_EVERY_BYTES || this.#syncing !== undefined) return;
    this.#sinceSync = 0;
    // Only a head start for the final fsync, which reports any error: a failure here changes nothing.
    this.#syncing = this.handle.then((handle) => handle.datasync()).then(
      () => {
        this.#syncing = undefined;
      },
      () => {
        this.#syncing = undefined;
      },
    );
  }
}
