import type { Ferry } from './ferry.js';

/** Waits until the API reports at least `bytes` received for the download. */
export async function receivedAtLeast(ferry: Ferry, id: string, bytes: number, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while ((await ferry.status(id)).progress.receivedBytes < bytes) {
    if (Date.now() > deadline) throw new Error(`download ${id} did not reach ${bytes} bytes`);
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}
