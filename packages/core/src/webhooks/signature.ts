import { createHmac, timingSafeEqual } from 'node:crypto';
import { keyWebhookSecret, secretBytes } from './secrets.js';

/** The bytes a Standard Webhooks signature covers. */
const signedContent = (id: string, timestamp: number, body: string) => `${id}.${timestamp}.${body}`;

function sign(secret: string, id: string, timestamp: number, body: string): string {
  return createHmac('sha256', secretBytes(secret))
    .update(signedContent(id, timestamp, body))
    .digest('base64');
}

/** The header that names the API key a callback is for, so a receiver serving several keys knows which secret verifies it. */
export const WEBHOOK_KEY_HEADER = 'ferry-api-key';

/**
 * The headers of a Standard Webhooks delivery for the API key `keyName`. Each
 * server secret adds one `v1,` signature, space-separated, made with that key's
 * secret derived from it (keyWebhookSecret), so the key's receiver holding any
 * one of them can verify, and no other key's receiver can.
 */
export function webhookHeaders(secrets: readonly string[], keyName: string, id: string, timestamp: number, body: string): Record<string, string> {
  return {
    'webhook-id': id,
    'webhook-timestamp': String(timestamp),
    'webhook-signature': secrets.map((secret) => `v1,${sign(keyWebhookSecret(secret, keyName), id, timestamp, body)}`).join(' '),
    [WEBHOOK_KEY_HEADER]: keyName,
  };
}

interface VerifyOptions {
  /** How far the timestamp may be from now, either way, in seconds. @defaultValue 300 */
  readonly toleranceSeconds?: number;
  /** Seconds since the epoch. @defaultValue the clock */
  readonly now?: number;
}

/**
 * What a receiver runs with its key's secret (the README shows the same steps): the signature must
 * match one of the `v1` signatures, and the timestamp must be recent, so a
 * captured delivery cannot be replayed later. Returns the parsed body.
 */
export function verifyWebhook(secret: string, headers: Record<string, string | undefined>, body: string, options: VerifyOptions = {}): unknown {
  const id = headers['webhook-id'];
  const timestamp = Number(headers['webhook-timestamp']);
  const signatures = headers['webhook-signature']?.split(' ') ?? [];
  if (id === undefined || !Number.isInteger(timestamp)) throw new Error('missing webhook-id or webhook-timestamp');
  const now = options.now ?? Math.floor(Date.now() / 1000);
  if (Math.abs(now - timestamp) > (options.toleranceSeconds ?? 300)) throw new Error('timestamp outside the tolerance: a replay, or a clock far off');
  const expected = Buffer.from(sign(secret, id, timestamp, body));
  const matches = signatures.some((entry) => {
    const [version, signature] = entry.split(',');
    const given = Buffer.from(signature ?? '');
    return version === 'v1' && given.length === expected.length && timingSafeEqual(given, expected);
  });
  if (!matches) throw new Error('no signature matches: the body was changed, or the secret is wrong');
  return JSON.parse(body);
}
