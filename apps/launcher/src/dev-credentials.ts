import { randomBytes } from 'node:crypto';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { FerryError } from '@ferry/contract';
import { apiKeyEntry, generateApiKey, generateSealingKey, generateWebhookSecret, hashApiKey, type Config } from '@ferry/core';

/** A secret generated on first start and kept (mode 600) in the data dir, so it survives restarts. */
async function keptSecret(config: Config, filename: string, generate: () => string): Promise<{ secret: string; file: string }> {
  const file = path.join(config.dataDir, filename);
  const kept = (await readFile(file, 'utf8').catch(() => '')).trim();
  if (kept.length >= 12) return { secret: kept, file };
  const secret = generate();
  await mkdir(config.dataDir, { recursive: true });
  await writeFile(file, `${secret}\n`, { mode: 0o600 });
  return { secret, file };
}

function refuseInProduction(config: Config, variable: string): void {
  if (config.env === 'production') {
    throw new FerryError('FERRY_ERR_CONFIG', `NODE_ENV=production needs ${variable}; nothing is generated in production.`);
  }
}

/** The dashboard password: FERRY_DASHBOARD_PASSWORD if set, else a kept generated one. */
export async function dashboardPassword(config: Config): Promise<{ password: string; generatedIn?: string }> {
  if (config.dashboard.password !== undefined) return { password: config.dashboard.password };
  refuseInProduction(config, 'FERRY_DASHBOARD_PASSWORD (12+ characters)');
  const { secret, file } = await keptSecret(config, 'dashboard-password', () => randomBytes(18).toString('base64url'));
  return { password: secret, generatedIn: file };
}

/** The name of the key the launcher generates. */
export const DEV_KEY_NAME = 'dev';

/**
 * The API keys: FERRY_API_KEYS if set (the launcher then knows no key to print),
 * else one kept generated key named DEV_KEY_NAME.
 */
export async function apiKeys(config: Config): Promise<{ entries: string; devKey?: string; generatedIn?: string }> {
  if (config.api.keys.length > 0) return { entries: config.api.keys.map((k) => apiKeyEntry(k.name, k.sha256)).join(',') };
  refuseInProduction(config, 'FERRY_API_KEYS (make entries with `npm run api-key -- <name>`)');
  const { secret, file } = await keptSecret(config, 'dev-api-key', generateApiKey);
  return { entries: apiKeyEntry(DEV_KEY_NAME, hashApiKey(secret)), devKey: secret, generatedIn: file };
}

/**
 * The secrets that sign completion callbacks: FERRY_WEBHOOK_SECRETS if set, else
 * (outside production) a kept generated one; production without any just has no callbacks.
 */
export async function webhookSecrets(config: Config): Promise<{ secrets: string; generatedIn?: string }> {
  if (config.callbacks.secrets.length > 0 || config.env === 'production') return { secrets: config.callbacks.secrets.join(',') };
  const { secret, file } = await keptSecret(config, 'dev-webhook-secret', generateWebhookSecret);
  return { secrets: secret, generatedIn: file };
}

/**
 * The keys that encrypt request headers at rest: FERRY_HEADERS_ENCRYPTION_KEYS if
 * set, else (outside production) a kept generated one; production without any refuses requests with headers.
 */
export async function headerKeys(config: Config): Promise<{ keys: string; generatedIn?: string }> {
  const given = config.headerKeys.map((k) => `${k.id}:${k.base64}`).join(',');
  if (given !== '' || config.env === 'production') return { keys: given };
  const { secret, file } = await keptSecret(config, 'dev-headers-key', () => generateSealingKey('dev'));
  return { keys: secret, generatedIn: file };
}
