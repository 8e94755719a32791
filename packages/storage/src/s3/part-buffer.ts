/** Room past a part's size for the chunk that reaches it: parts are cut at a chunk's end, where the caller's hash state is. */
const SLACK = 1024 * 1024;

/**
 * The bytes of the upload part being filled, copied into one buffer as they
 * arrive rather than kept as the socket's chunks: those then die young, in
 * V8's scavenges, instead of surviving until the part is sent and living on
 * to a full GC; and sending a part needs no concatenated copy of it. Buffers
 * of parts that were sent come back through `recycle`, so a download reuses
 * (partsInFlight + 1) buffers from start to end.
 */
export class PartBuffer {
  #buffer: Buffer | undefined;
  #length = 0;
  readonly #spare: Buffer[] = [];

  constructor(
    private readonly partSize: number,
    /** Sent parts' buffers kept for reuse: the parts in flight. */
    private readonly spares: number,
  ) {}

  get length(): number {
    return this.#length;
  }

  append(chunk: Buffer): void {
    const needed = this.#length + chunk.length;
    if (this.#buffer === undefined || needed > this.#buffer.length) {
      // allocUnsafeSlow: a buffer of its own (not the shared pool), whose untouched pages cost no memory.
      const grown = this.#spare.pop() ?? Buffer.allocUnsafeSlow(Math.max(needed, this.partSize + SLACK));
      const bigger = grown.length >= needed ? grown : Buffer.allocUnsafeSlow(needed);
      this.#buffer?.copy(bigger, 0, 0, this.#length);
      this.#buffer = bigger;
    }
    chunk.copy(this.#buffer, this.#length);
    this.#length = needed;
  }

  /** What is buffered, still owned by this buffer: valid until the next append, take or clear. */
  view(): Buffer {
    return this.#buffer === undefined ? Buffer.alloc(0) : this.#buffer.subarray(0, this.#length);
  }

  /** What is buffered, handed over (give it to `recycle` once it has been sent); this starts empty. */
  take(): Buffer {
    const taken = this.view();
    this.#buffer = undefined;
    this.#length = 0;
    return taken;
  }

  /** A taken buffer that nothing reads any more (its part was sent). */
  recycle(taken: Buffer): void {
    const whole = Buffer.from(taken.buffer, taken.byteOffset, taken.buffer.byteLength - taken.byteOffset);
    if (whole.length >= this.partSize + SLACK && this.#spare.length < this.spares) this.#spare.push(whole);
  }

  clear(): void {
    this.#buffer = undefined;
    this.#length = 0;
    this.#spare.length = 0;
  }
}
