import type { Ferry } from './ferry.js';

/** Waits until `check()` holds, or fails naming `what`. */
export async function until(check: () => boolean | Promise<boolean>, what: string, ms = 20_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}

/** Waits until the API reports at least `bytes` received for the download. */
export async function receivedAtLeast(ferry: Ferry, id: string, bytes: number, timeoutMs = 20_000): Promise<void> {
  await until(async () => (await ferry.status(id)).progress.receivedBytes >= bytes, `download ${id} to reach ${bytes} bytes`, timeoutMs);
}
