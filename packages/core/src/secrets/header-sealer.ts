import { createCipheriv, createDecipheriv, createHmac, hkdfSync, randomBytes } from 'node:crypto';
import { FerryError } from '@ferry/contract';
import { listEntries } from '../list-entries.js';

/** The job sealed headers belong to: they open only for it. */
interface SealedFor {
  readonly owner: string;
  readonly jobId: string;
}

const associatedData = ({ owner, jobId }: SealedFor): Buffer => Buffer.from(JSON.stringify([owner, jobId]));

/**
 * One AES-256 key of FERRY_HEADERS_ENCRYPTION_KEYS, named so a sealed value
 * says which key sealed it. Kept as text: the config is deep-frozen, which a Buffer cannot be.
 */
export interface SealingKey {
  readonly id: string;
  readonly base64: string;
}

const FORMAT = 'fh1';
const KEY_BYTES = 32;
const IV_BYTES = 12;
const TAG_BYTES = 16;
const KEY_ID = /^[A-Za-z0-9_-]{1,32}$/;

const KEYS_HELP =
  'must be a comma-separated list of id:key entries, each key 32 random bytes in base64 and each id 1-32 letters, digits, _ or -, ' +
  'e.g. k1: followed by the output of `openssl rand -base64 32`; the first entry encrypts, all of them decrypt';

/** A new FERRY_HEADERS_ENCRYPTION_KEYS entry. */
export function generateSealingKey(id: string): string {
  return `${id}:${randomBytes(KEY_BYTES).toString('base64')}`;
}

/** Parses FERRY_HEADERS_ENCRYPTION_KEYS. Several keys let an operator rotate: put the new one first, drop the old once no job needs it. */
export function parseSealingKeys(text: string): SealingKey[] {
  const keys = listEntries(text).map((entry) => {
    const [id = '', encoded = '', ...rest] = entry.split(':');
    const key = Buffer.from(encoded, 'base64');
    if (rest.length > 0 || !KEY_ID.test(id) || key.length !== KEY_BYTES || key.toString('base64') !== encoded) {
      throw new FerryError('FERRY_ERR_CONFIG', KEYS_HELP);
    }
    return { id, base64: encoded };
  });
  if (new Set(keys.map((k) => k.id)).size !== keys.length) throw new FerryError('FERRY_ERR_CONFIG', `${KEYS_HELP}; two entries have the same id`);
  return keys;
}

/**
 * Encrypts a request's headers for the time they sit in Redis (AES-256-GCM),
 * bound to the job they belong to: a sealed value copied into another job, or
 * altered, does not open.
 */
export class HeaderSealer {
  readonly #keys: readonly { readonly id: string; readonly key: Buffer; readonly digestKey: Buffer }[];

  constructor(keys: readonly SealingKey[]) {
    this.#keys = keys.map(({ id, base64 }) => {
      const key = Buffer.from(base64, 'base64');
      // A key of its own for digests: one key is never used by two algorithms.
      return { id, key, digestKey: Buffer.from(hkdfSync('sha256', key, '', 'ferry header digest', KEY_BYTES)) };
    });
  }

  get enabled(): boolean {
    return this.#keys.length > 0;
  }

  /**
   * Keyed digests (HMAC-SHA256) of text holding headers, one per key, the first key's first:
   * they tell equal texts apart from unequal ones, as a plain hash would, but without the
   * key a guess of a header cannot be checked against them. Earlier keys' digests match
   * what was stored before a rotation.
   */
  digests(text: string): string[] {
    return this.#keys.map(({ digestKey }) => createHmac('sha256', digestKey).update(text).digest('hex'));
  }

  /** `fh1.<key id>.<iv>.<ciphertext and tag>`, base64url. */
  seal(headers: Readonly<Record<string, string>>, job: SealedFor): string {
    const [current] = this.#keys;
    if (current === undefined) throw new Error('no FERRY_HEADERS_ENCRYPTION_KEYS to seal request headers with');
    const iv = randomBytes(IV_BYTES);
    const cipher = createCipheriv('aes-256-gcm', current.key, iv).setAAD(associatedData(job));
    const sealed = Buffer.concat([cipher.update(JSON.stringify(headers), 'utf8'), cipher.final(), cipher.getAuthTag()]);
    return [FORMAT, current.id, iv.toString('base64url'), sealed.toString('base64url')].join('.');
  }

  /** The headers `seal` was given; a FerryError when this process lacks the key or the value was altered. */
  unseal(value: string, job: SealedFor): Record<string, string> {
    const [format, id, iv, sealed, ...rest] = value.split('.');
    const entry = this.#keys.find((k) => k.id === id);
    if (entry === undefined || format !== FORMAT || iv === undefined || sealed === undefined || rest.length > 0) {
      throw new FerryError(
        'FERRY_ERR_SEALED_HEADERS',
        `the request headers were encrypted with key ${JSON.stringify(id ?? '')}, which is not in this worker's FERRY_HEADERS_ENCRYPTION_KEYS; give every worker the same keys`,
        { data: { keyId: id ?? null } },
      );
    }
    const bytes = Buffer.from(sealed, 'base64url');
    try {
      const decipher = createDecipheriv('aes-256-gcm', entry.key, Buffer.from(iv, 'base64url'))
        .setAAD(associatedData(job))
        .setAuthTag(bytes.subarray(bytes.length - TAG_BYTES));
      const text = Buffer.concat([decipher.update(bytes.subarray(0, bytes.length - TAG_BYTES)), decipher.final()]).toString('utf8');
      return JSON.parse(text) as Record<string, string>;
    } catch (err) {
      throw new FerryError('FERRY_ERR_SEALED_HEADERS', `the request headers do not decrypt with key ${id}: they were altered, or sealed for another job`, {
        cause: err,
        data: { keyId: id },
      });
    }
  }
}
