import { createHash, type Hash } from 'node:crypto';
import type { DigestAlgorithm } from '@ferry/contract';

/** sha256 always (every result reports it), plus the request's algorithm when it asked for another. */
export class Digests {
  readonly #sha256: Hash | undefined;
  readonly #requested: Hash | undefined;

  /** `sha256: false` exists for bench/'s "digest off" figure alone; the sha256 it reports is then empty. */
  constructor(
    readonly requested: DigestAlgorithm | undefined,
    { sha256 = true }: { sha256?: boolean } = {},
  ) {
    this.#sha256 = sha256 || requested === 'sha256' ? createHash('sha256') : undefined;
    this.#requested = requested === undefined || requested === 'sha256' ? undefined : createHash(requested);
  }

  update(chunk: Buffer): void {
    this.#sha256?.update(chunk);
    this.#requested?.update(chunk);
  }

  /** Hex digests; call once, at the end. */
  finish(): { sha256: string; requested: string | undefined } {
    const sha256 = this.#sha256?.digest('hex') ?? '';
    return { sha256, requested: this.requested === 'sha256' ? sha256 : this.#requested?.digest('hex') };
  }
}
