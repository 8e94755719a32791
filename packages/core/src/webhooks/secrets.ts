import { createHmac, randomBytes } from 'node:crypto';
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
 * The secret that signs the callbacks of the API key named `keyName`, and that
 * its receiver verifies with: HMAC-SHA256 keyed with `secret`'s bytes, over the
 * key name, as a `whsec_` secret. Each key gets its own, so a callback another
 * key asked for (to any URL, with its own body) never verifies as this key's,
 * and handing a key its secret reveals neither the server's nor another key's.
 */
export function keyWebhookSecret(secret: string, keyName: string): string {
  return `${PREFIX}${createHmac('sha256', secretBytes(secret)).update(keyName, 'utf8').digest('base64')}`;
}

/**
 * Parses FERRY_WEBHOOK_SECRETS. Several secrets (comma-separated) all sign each
 * event (each through the key's own secret, see keyWebhookSecret), so a receiver
 * can move to a new secret before the old one is dropped.
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
