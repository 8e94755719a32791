/** Room past a part's size for the chunk that reaches it: parts are cut at a chunk's end, where the caller's hash state is. */
const SLACK = 1024 * 1024;

interface Waiter {
  readonly lend: (buffer: Buffer) => void;
}

/**
 * The buffers upload parts are filled in, shared by every download of one
 * S3Storage (one worker): at most `capacity` are lent at once, so the memory
 * parts take is bounded per worker, not per download. Four downloads each
 * holding (partsInFlight + 1) parts of their own peaked at 242 MB of RSS; a
 * download rarely needs all of them at once (bench/README.md). A download that
 * finds none left waits for the next one given back, first come first served.
 */
export class PartBufferPool {
  readonly #free: Buffer[] = [];
  readonly #waiting: Waiter[] = [];
  #lent = 0;
  /** Bytes of each buffer: a part and the chunk that completes it. */
  readonly bufferSize: number;

  constructor(
    partSize: number,
    /** Buffers lent at most at once. */
    readonly capacity: number,
  ) {
    this.bufferSize = partSize + SLACK;
  }

  /** A buffer now, or undefined when all are lent (or others wait for one before this caller). */
  tryLend(): Buffer | undefined {
    if (this.#lent >= this.capacity || this.#waiting.length > 0) return undefined;
    this.#lent += 1;
    // allocUnsafeSlow: a buffer of its own (not the shared pool), whose untouched pages cost no memory.
    return this.#free.pop() ?? Buffer.allocUnsafeSlow(this.bufferSize);
  }

  /** A buffer once one is free; rejects with the signal's reason if it aborts first. */
  lend(signal?: AbortSignal): Promise<Buffer> {
    if (signal?.aborted === true) return Promise.reject(signal.reason);
    const now = this.tryLend();
    if (now !== undefined) return Promise.resolve(now);
    return new Promise<Buffer>((resolve, reject) => {
      const waiter: Waiter = {
        lend: (buffer) => {
          signal?.removeEventListener('abort', onAbort);
          resolve(buffer);
        },
      };
      const onAbort = () => {
        this.#waiting.splice(this.#waiting.indexOf(waiter), 1);
        reject(signal!.reason);
      };
      signal?.addEventListener('abort', onAbort, { once: true });
      this.#waiting.push(waiter);
    });
  }

  /**
   * Takes back a lent buffer, or one that replaced it (a part grown past
   * `bufferSize`), or any view of either. `reuse` false: a request that failed
   * may still be reading it, so it is left to the GC and only its place is given back.
   */
  giveBack(lent: Buffer, reuse = true): void {
    const whole = Buffer.from(lent.buffer, 0, lent.buffer.byteLength);
    const reusable = reuse && whole.length === this.bufferSize;
    const next = this.#waiting.shift();
    if (next !== undefined) {
      next.lend(reusable ? whole : Buffer.allocUnsafeSlow(this.bufferSize));
      return;
    }
    this.#lent -= 1;
    if (reusable) this.#free.push(whole);
    // An idle worker keeps no part memory.
    if (this.#lent === 0) this.#free.length = 0;
  }
}
