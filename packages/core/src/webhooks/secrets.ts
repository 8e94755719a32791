import { randomBytes } from 'node:crypto';
import { FerryError } from '@ferry/contract';
import { listEntries } from '../list-entries.js';

const PREFIX = 'whsec_';

/** A Standard Webhooks secret: `whsec_` and 24 to 64 random bytes in base64. */
export function generateWebhookSecret(): string {
  return `${PREFIX}${randomBytes(32).toString('base64')}`;
}

/** The key bytes of a `whsec_…` secret. */
export function secretBytes(secret: string): Buffer {
  return Buffer.from(secret.startsWith(PREFIX) ? secret.slice(PREFIX.length) : secret, 'base64');
}

/**
 * Parses FERRY_WEBHOOK_SECRETS. Several secrets (comma-separated) all sign each
 * event, so a receiver can move to a new secret before the old one is dropped.
 */
export function parseWebhookSecrets(text: string): string[] {
  return listEntries(text).map((entry) => {
    const bytes = entry.startsWith(PREFIX) ? secretBytes(entry) : undefined;
    if (bytes === undefined || bytes.length < 24 || bytes.length > 64 || bytes.toString('base64') !== entry.slice(PREFIX.length)) {
      throw new FerryError(
        'FERRY_ERR_CONFIG',
        'must be a comma-separated list of whsec_<base64 of 24-64 random bytes> secrets, e.g. whsec_ followed by the output of `openssl rand -base64 32`',
      );
    }
    return entry;
  });
}
