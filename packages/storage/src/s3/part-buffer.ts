import type { PartBufferPool } from './part-buffer-pool.js';

/**
 * The bytes of the upload part being filled, copied into one buffer lent by
 * the pool as they arrive rather than kept as the socket's chunks: those then
 * die young, in V8's scavenges, instead of surviving until the part is sent and
 * living on to a full GC; and sending a part needs no concatenated copy of it.
 * When the pool has no buffer to lend, chunks wait as they are (`waiting`)
 * until `fill` gets one.
 */
export class PartBuffer {
  #buffer: Buffer | undefined;
  #length = 0;
  readonly #pending: Buffer[] = [];
  #pendingLength = 0;

  constructor(private readonly pool: PartBufferPool) {}

  get length(): number {
    return this.#length + this.#pendingLength;
  }

  /** Whether chunks wait for a buffer: the writer should then wait for `fill`. */
  get waiting(): boolean {
    return this.#pending.length > 0;
  }

  append(chunk: Buffer): void {
    if (this.#buffer === undefined && this.#pending.length === 0) this.#buffer = this.pool.tryLend();
    if (this.#buffer === undefined) {
      this.#pending.push(chunk);
      this.#pendingLength += chunk.length;
      return;
    }
    this.#copyIn(chunk);
  }

  /** Moves the chunks that wait into a buffer, once the pool lends one; rejects with the signal's reason if it aborts first. */
  async fill(signal?: AbortSignal): Promise<void> {
    if (this.#pending.length === 0) return;
    const lent = await this.pool.lend(signal);
    // Another fill may have got one first (flush and drained at once): it took the chunks that waited.
    if (this.#pending.length === 0) {
      this.pool.giveBack(lent);
      return;
    }
    this.#buffer = lent;
    for (const chunk of this.#pending.splice(0)) this.#copyIn(chunk);
    this.#pendingLength = 0;
  }

  /** What is buffered, still owned by this buffer: valid until the next append, take or release. Call `fill` first. */
  view(): Buffer {
    return this.#buffer === undefined ? Buffer.alloc(0) : this.#buffer.subarray(0, this.#length);
  }

  /**
   * Everything buffered, for the part's last write (keep or commit): the lent buffer, or the chunks
   * that wait for one joined outside the pool, so that the last write never waits for another
   * download's part to be sent (a pause or a shutdown has a deadline). Valid like `view`.
   */
  whole(): Buffer {
    if (this.#pending.length === 0) return this.view();
    return this.#pending.length === 1 ? this.#pending[0]! : Buffer.concat(this.#pending, this.#pendingLength);
  }

  /** What is buffered, handed over (give it back to the pool once it has been sent); this starts empty. */
  take(): Buffer {
    const taken = this.view();
    this.#buffer = undefined;
    this.#length = 0;
    return taken;
  }

  /** Gives the buffer back to the pool and forgets what it held (sent, kept elsewhere or thrown away). */
  release(): void {
    if (this.#buffer !== undefined) this.pool.giveBack(this.#buffer);
    this.#buffer = undefined;
    this.#length = 0;
    this.#pending.length = 0;
    this.#pendingLength = 0;
  }

  #copyIn(chunk: Buffer): void {
    const lent = this.#buffer!;
    const needed = this.#length + chunk.length;
    if (needed > lent.length) {
      // A chunk larger than the pool's slack: this buffer replaces the lent one, and is given back in its place.
      const bigger = Buffer.allocUnsafeSlow(needed);
      lent.copy(bigger, 0, 0, this.#length);
      this.#buffer = bigger;
    }
    chunk.copy(this.#buffer!, this.#length);
    this.#length = needed;
  }
}
