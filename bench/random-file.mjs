// The source file a transfer bench moves, and the check of what arrived: random bytes (nothing for a
// compressor or dedup to shorten) and their sha256, computed as they are written.
import { createHash, randomFillSync } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { open } from 'node:fs/promises';

const CHUNK = 4 * 1024 * 1024;

/** Writes `sizeBytes` random bytes to `file`; resolves to their sha256 (hex). */
export async function writeRandomFile(file, sizeBytes) {
  const hash = createHash('sha256');
  const handle = await open(file, 'w');
  const chunk = Buffer.allocUnsafe(CHUNK);
  for (let written = 0; written < sizeBytes; written += chunk.length) {
    const piece = chunk.subarray(0, Math.min(chunk.length, sizeBytes - written));
    randomFillSync(piece);
    hash.update(piece);
    await handle.write(piece);
  }
  await handle.close();
  return hash.digest('hex');
}

/** The sha256 (hex) of `file`'s bytes. */
export async function sha256OfFile(file) {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(file, { highWaterMark: 1024 * 1024 })) hash.update(chunk);
  return hash.digest('hex');
}
