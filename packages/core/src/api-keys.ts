import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import { FerryError } from '@ferry/contract';
import { listEntries } from './list-entries.js';

/** A configured key: who it belongs to, and the sha256 of the key itself (the key is never stored). */
export interface ApiKey {
  readonly name: string;
  readonly sha256: string;
}

const KEY_NAME = /^[A-Za-z0-9_.-]{1,64}$/;

/** Keys are 256 random bits, so a plain sha256 is enough to store them: there is nothing to brute-force. */
export function hashApiKey(key: string): string {
  return createHash('sha256').update(key, 'utf8').digest('hex');
}

export function generateApiKey(): string {
  return `fry_${randomBytes(32).toString('base64url')}`;
}

/** Whether `name` can name a key: 1-64 letters, digits, `_`, `.` or `-`. */
export function isKeyName(name: string): boolean {
  return KEY_NAME.test(name);
}

/** One FERRY_API_KEYS entry, as parseApiKeys reads it back. */
export function apiKeyEntry(name: string, sha256: string): string {
  return `${name}:${sha256}`;
}

/** Parses FERRY_API_KEYS: `name:sha256hex` entries, comma-separated. */
export function parseApiKeys(text: string): ApiKey[] {
  const keys = listEntries(text).map((entry, index) => {
    const [name, sha256, ...rest] = entry.split(':');
    if (name === undefined || sha256 === undefined || rest.length > 0 || !KEY_NAME.test(name) || !/^[0-9a-f]{64}$/i.test(sha256)) {
      // Only a well-formed name is repeated: a wrong entry is often the raw key itself, pasted where its hash belongs.
      const which = name !== undefined && sha256 !== undefined && KEY_NAME.test(name) ? `entry ${index + 1} ("${name}:…")` : `entry ${index + 1}`;
      throw new FerryError(
        'FERRY_ERR_CONFIG',
        `must be a comma-separated list of name:sha256 entries, e.g. billing:<64 hex digits> (the key's sha256, never the key itself); ${which} is not one. Make an entry with \`npm run api-key -- <name>\``,
      );
    }
    return { name, sha256: sha256.toLowerCase() };
  });
  const names = keys.map((k) => k.name);
  const duplicate = names.find((name, i) => names.indexOf(name) !== i);
  if (duplicate !== undefined) throw new FerryError('FERRY_ERR_CONFIG', `names the key "${duplicate}" twice; every key needs its own name`);
  return keys;
}

/**
 * The key a bearer token belongs to, or undefined. Every configured hash is
 * compared, in constant time, whatever matches first: the time taken says nothing
 * about which key, or how much of one, was right.
 */
export function findApiKey(keys: readonly ApiKey[], token: string): ApiKey | undefined {
  const presented = Buffer.from(hashApiKey(token), 'hex');
  let found: ApiKey | undefined;
  for (const key of keys) {
    if (timingSafeEqual(presented, Buffer.from(key.sha256, 'hex')) && found === undefined) found = key;
  }
  return found;
}
