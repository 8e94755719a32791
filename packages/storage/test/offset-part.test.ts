import { randomBytes } from 'node:crypto';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { LocalDiskStorage } from '../src/local-disk.js';

const KiB = 1024;
const TARGET = { namespace: 'offsets', filename: 'file.bin', policy: 'rename' } as const;

let root: string;
let storage: LocalDiskStorage;
beforeEach(async () => {
  root = await mkdtemp(path.join(os.tmpdir(), 'ferry-offset-part-'));
  storage = new LocalDiskStorage(root);
});
afterEach(() => rm(root, { recursive: true, force: true }));

async function readBack(part: { readBack: (s: number, e: number, f: (c: Buffer) => void) => Promise<void> }, start: number, end: number): Promise<Buffer> {
  const chunks: Buffer[] = [];
  // Copied: a chunk's memory is reused for the next.
  await part.readBack(start, end, (chunk) => chunks.push(Buffer.from(chunk)));
  return Buffer.concat(chunks);
}

/** Bytes a writer takes, 64 KiB at a time and without waiting, before it asks the caller to wait. */
function takenBeforeWait(writer: { write: (chunk: Buffer) => boolean }): number {
  const chunk = Buffer.alloc(64 * KiB);
  let taken = 0;
  while (writer.write(chunk)) taken += chunk.length;
  return taken + chunk.length;
}

describe('LocalDiskStorage offset parts', () => {
  it('written by one connection alone, queue as much before asking to wait as a plain part; once segments share the file, less', async () => {
    const plain = await storage.openPart('plain', 1);
    const alone = await storage.openOffsetPart('alone', 1, 64 * 64 * KiB);
    const shared = await storage.openOffsetPart('shared', 1, 64 * 64 * KiB);
    shared.segment(32 * 64 * KiB);
    const plainTaken = takenBeforeWait(plain);
    expect(takenBeforeWait(alone)).toBe(plainTaken);
    expect(takenBeforeWait(shared)).toBeLessThan(plainTaken);
    await Promise.all([plain, alone, shared].map((part) => part.discard()));
  });

  it('writes segments at their offsets in any order, counts only the bytes from 0 with no gap, and publishes the file whole', async () => {
    const bytes = randomBytes(300 * KiB);
    const part = await storage.openOffsetPart('job', 1, bytes.length);
    const third = part.segment(200 * KiB);
    third.write(bytes.subarray(200 * KiB));
    await third.flush();
    expect(part.bytesWritten()).toBe(0);
    part.write(bytes.subarray(0, 100 * KiB));
    await part.flush();
    expect(part.bytesWritten()).toBe(100 * KiB);
    const second = part.segment(100 * KiB);
    second.write(bytes.subarray(100 * KiB, 200 * KiB));
    await part.flush();
    expect(part.bytesWritten()).toBe(bytes.length);
    expect((await readBack(part, 100 * KiB, bytes.length)).equals(bytes.subarray(100 * KiB))).toBe(true);
    const stored = await part.commit(TARGET);
    expect((await readFile(fileURLToPath(stored.location))).equals(bytes)).toBe(true);
    expect(await readdir(storage.partsDir)).toEqual([]);
  });

  it('resumes the runs a checkpoint names into a new part, continuing each where it ended, and removes the old part', async () => {
    const bytes = randomBytes(200 * KiB);
    const first = await storage.openOffsetPart('job', 1, bytes.length);
    first.write(bytes.subarray(0, 30 * KiB));
    const later = first.segment(100 * KiB);
    later.write(bytes.subarray(100 * KiB, 150 * KiB));
    await first.keep();
    const point = first.resumePoint();
    expect(point.bytes).toBe(30 * KiB);
    expect(point.segments).toEqual([
      { first: 0, bytes: 30 * KiB },
      { first: 100 * KiB, bytes: 50 * KiB },
    ]);

    const resumed = await storage.resumeOffsetPart('job', 2, { ...point, validator: '"v1"', totalBytes: bytes.length });
    if (resumed === undefined) throw new Error('the runs were not resumed');
    resumed.segment(30 * KiB).write(bytes.subarray(30 * KiB, 100 * KiB));
    resumed.segment(150 * KiB).write(bytes.subarray(150 * KiB));
    await resumed.flush();
    expect(resumed.bytesWritten()).toBe(bytes.length);
    const stored = await resumed.commit(TARGET);
    expect((await readFile(fileURLToPath(stored.location))).equals(bytes)).toBe(true);
    expect(await readdir(storage.partsDir)).toEqual([]);
  });

  it('resumes nothing when the old part is gone or not the size the checkpoint names', async () => {
    const part = await storage.openOffsetPart('job', 1, 10 * KiB);
    part.write(randomBytes(KiB));
    await part.keep();
    const point = { ...part.resumePoint(), validator: '"v1"' };
    expect(await storage.resumeOffsetPart('job', 2, { ...point, totalBytes: 11 * KiB })).toBeUndefined();
    await storage.removePart(point.part);
    expect(await storage.resumeOffsetPart('job', 2, { ...point, totalBytes: 10 * KiB })).toBeUndefined();
  });
});
