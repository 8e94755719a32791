import { createHash, type Hash } from 'node:crypto';
import type { DigestAlgorithm } from '../schemas.js';

/** sha256 always (every result reports it), plus the request's algorithm when it asked for another. */
export class Digests {
  readonly #sha256: Hash = createHash('sha256');
  readonly #requested: Hash | undefined;

  constructor(readonly requested: DigestAlgorithm | undefined) {
    this.#requested = requested === undefined || requested === 'sha256' ? undefined : createHash(requested);
  }

  update(chunk: Buffer): void {
    this.#sha256.update(chunk);
    this.#requested?.update(chunk);
  }

  /** Hex digests; call once, at the end. */
  finish(): { sha256: string; requested: string | undefined } {
    const sha256 = this.#sha256.digest('hex');
    return { sha256, requested: this.requested === 'sha256' ? sha256 : this.#requested?.digest('hex') };
  }
}
