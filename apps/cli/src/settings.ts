import { readFile } from 'node:fs/promises';
import path from 'node:path';

export const DEFAULT_URL = 'http://127.0.0.1:3000';
/** Where the launcher (`npm start`) keeps the generated development key, relative to the directory it ran in. */
export const DEV_KEY_FILE = '.ferry/dev-api-key';

export interface Settings {
  readonly url: string;
  readonly apiKey: string;
  /** Where the key came from, to say so when Ferry refuses it. */
  readonly apiKeySource: string;
}

/**
 * Flags first, then FERRY_URL / FERRY_API_KEY, then the development key file.
 * Undefined apiKey means none was found anywhere.
 */
export async function resolveSettings(
  flags: { url?: string; apiKey?: string },
  env: NodeJS.ProcessEnv,
  cwd: string,
): Promise<Settings | { url: string; apiKey?: undefined; keyFile: string }> {
  const url = flags.url ?? (env.FERRY_URL || DEFAULT_URL);
  if (flags.apiKey !== undefined) return { url, apiKey: flags.apiKey, apiKeySource: '--api-key' };
  if (env.FERRY_API_KEY) return { url, apiKey: env.FERRY_API_KEY, apiKeySource: 'FERRY_API_KEY' };
  const keyFile = env.FERRY_DATA_DIR ? path.resolve(cwd, env.FERRY_DATA_DIR, 'dev-api-key') : path.resolve(cwd, DEV_KEY_FILE);
  const kept = (await readFile(keyFile, 'utf8').catch(() => '')).trim();
  return kept === '' ? { url, keyFile } : { url, apiKey: kept, apiKeySource: keyFile };
}
