import { describe, expect, it } from 'vitest';
import { generateWebhookSecret, keyWebhookSecret, parseWebhookSecrets } from '../src/webhooks/secrets.js';
import { verifyWebhook, webhookHeaders } from '../src/webhooks/signature.js';

describe('callback signatures', () => {
  const [current, next] = [generateWebhookSecret(), generateWebhookSecret()];
  const body = '{"type":"download.completed"}';
  const now = 1_800_000_000;
  const headers = webhookHeaders([current!, next!], 'billing', 'dl.download.completed.1', now, body);

  it("are made with the key's own secret, which is a valid whsec_ secret unlike any other key's", () => {
    const secret = keyWebhookSecret(current!, 'billing');
    expect(parseWebhookSecrets(secret)).toEqual([secret]);
    expect(keyWebhookSecret(current!, 'billing')).toBe(secret);
    expect(keyWebhookSecret(current!, 'ci')).not.toBe(secret);
    expect(keyWebhookSecret(next!, 'billing')).not.toBe(secret);
    expect(headers['ferry-api-key']).toBe('billing');
  });

  it("verify with the key's secret from any of the server's secrets while they are rotated", () => {
    expect(headers['webhook-signature']!.split(' ')).toHaveLength(2);
    for (const secret of [current!, next!])
      expect(verifyWebhook(keyWebhookSecret(secret, 'billing'), headers, body, { now })).toEqual({ type: 'download.completed' });
  });

  it("do not verify with another key's secret, nor with the server's secret itself", () => {
    for (const secret of [keyWebhookSecret(current!, 'ci'), keyWebhookSecret(next!, 'ci'), current!, next!]) {
      expect(() => verifyWebhook(secret, headers, body, { now })).toThrow(/no signature matches/);
    }
  });
});
