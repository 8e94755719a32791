import { execFile } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';

const CORE = path.join(path.dirname(fileURLToPath(import.meta.url)), '..', 'dist', 'index.js');
const ENGINE = path.join(path.dirname(fileURLToPath(import.meta.url)), '..', '..', 'engine', 'dist', 'index.js');
const dirs: string[] = [];
afterAll(async () => Promise.all(dirs.map((dir) => rm(dir, { recursive: true, force: true }))));

/**
 * Makes the storage `env` names in a fresh Node process, with everything a
 * worker imports of core and the engine, and answers whether the AWS SDK got
 * loaded (it is CommonJS: it shows in the module cache).
 */
async function loadsAwsSdk(env: Record<string, string>): Promise<boolean> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'ferry-storage-loading-'));
  dirs.push(dir);
  const script = `
    import { createRequire } from 'node:module';
    const { checkStorage, createStorage, loadConfig } = await import(${JSON.stringify(CORE)});
    await import(${JSON.stringify(ENGINE)});
    const config = loadConfig(${JSON.stringify(env)}, ${JSON.stringify(dir)});
    await createStorage(config);
    if (config.s3 === undefined) await checkStorage(await createStorage(config), undefined, config.storageDir);
    const loaded = Object.keys(createRequire(import.meta.url).cache).some((file) => file.includes('@aws-sdk'));
    console.log(JSON.stringify({ loaded }));`;
  const { stdout } = await promisify(execFile)(process.execPath, ['--input-type=module', '-e', script], { env: { PATH: process.env['PATH'] ?? '' } });
  return (JSON.parse(stdout.trim()) as { loaded: boolean }).loaded;
}

describe('loading the AWS SDK', () => {
  it('does not happen for local disk, which needs none of it', async () => {
    expect(await loadsAwsSdk({})).toBe(false);
  });

  it('happens when FERRY_STORAGE=s3 makes the storage (so the check above can see it)', async () => {
    expect(await loadsAwsSdk({ FERRY_STORAGE: 's3', FERRY_S3_BUCKET: 'ferry-files', FERRY_S3_REGION: 'eu-west-1' })).toBe(true);
  });
});
