import { randomBytes } from 'node:crypto';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { FerryError, type Config } from '@ferry/core';

/**
 * The dashboard password for this checkout: FERRY_DASHBOARD_PASSWORD if set,
 * else one generated on first start and kept (mode 600) so it survives restarts.
 * Production never gets a generated password.
 */
export async function dashboardPassword(config: Config): Promise<{ password: string; generatedIn?: string }> {
  if (config.dashboard.password !== undefined) return { password: config.dashboard.password };
  if (config.env === 'production') {
    throw new FerryError('FERRY_ERR_CONFIG', 'NODE_ENV=production needs FERRY_DASHBOARD_PASSWORD (12+ characters); no password is generated in production.');
  }
  const file = path.join(config.dataDir, 'dashboard-password');
  const kept = (await readFile(file, 'utf8').catch(() => '')).trim();
  if (kept.length >= 12) return { password: kept, generatedIn: file };
  const password = randomBytes(18).toString('base64url');
  await mkdir(config.dataDir, { recursive: true });
  await writeFile(file, `${password}\n`, { mode: 0o600 });
  return { password, generatedIn: file };
}
