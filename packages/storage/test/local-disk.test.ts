import { createHash } from 'node:crypto';
import { mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { LocalDiskStorage, PARTS_DIRNAME } from '../src/local-disk.js';
import { namespaceDirectory } from '../src/namespace-directory.js';
import type { StoredFile } from '../src/storage.js';
import { runStorageContract } from './storage-contract.js';

const sha256 = (text: string) => createHash('sha256').update(text).digest('hex');

async function tempStorage(): Promise<{ storage: LocalDiskStorage; root: string; reopen(): LocalDiskStorage; close(): Promise<void> }> {
  const root = await mkdtemp(path.join(os.tmpdir(), 'ferry-local-disk-'));
  return { storage: new LocalDiskStorage(root), root, reopen: () => new LocalDiskStorage(root), close: () => rm(root, { recursive: true, force: true }) };
}

runStorageContract('LocalDiskStorage', tempStorage);

async function publish(
  storage: LocalDiskStorage,
  namespace: string,
  filename: string,
  text: string,
  policy: 'rename' | 'overwrite' | 'fail' = 'rename',
): Promise<StoredFile> {
  const part = await storage.openPart(`job-${Math.random()}`, 1);
  part.write(Buffer.from(text));
  return part.commit({ namespace, filename, policy });
}

describe('namespaceDirectory', () => {
  it('uses a plain lower-case name as it is', () => {
    expect(namespaceDirectory('test')).toBe('test');
    expect(namespaceDirectory('team-a_1.prod')).toBe('team-a_1.prod');
  });

  it('spells in hex any name a file system could confuse with another or with the parts folder', () => {
    for (const name of ['.parts', '.', '..', 'Alice', 'con', 'nul.txt', 'ends.', '~x']) {
      expect(namespaceDirectory(name)).toBe(`~${Buffer.from(name).toString('hex')}`);
    }
    // Case-insensitive disks: two keys differing in case get two directories that differ in more than case.
    expect(namespaceDirectory('Alice').toLowerCase()).not.toBe(namespaceDirectory('alice').toLowerCase());
  });

  it('refuses an empty namespace', () => {
    expect(() => namespaceDirectory('')).toThrow(/empty/);
  });
});

describe('LocalDiskStorage on disk', () => {
  let root: string;
  let storage: LocalDiskStorage;
  let close: () => Promise<void>;
  beforeEach(async () => {
    ({ root, storage, close } = await tempStorage());
  });
  afterEach(() => close());

  it("keeps parts in .parts and each namespace's files in a directory of its own", async () => {
    const kept = await storage.openPart('job-1', 1);
    kept.write(Buffer.from('kept'));
    await kept.keep();
    const stored = await publish(storage, 'a', 'same.txt', 'from a');
    await publish(storage, 'Alice', 'same.txt', 'from Alice');
    expect((await readdir(root)).sort()).toEqual(['.parts', 'a', namespaceDirectory('Alice')].sort());
    expect(await readdir(path.join(root, PARTS_DIRNAME))).toEqual([kept.name]);
    expect(stored.location).toBe(`file://${path.join(root, 'a', 'same.txt')}`);
  });

  it('accepts a file from before versions, published in the root, by its sha256', async () => {
    await writeFile(path.join(root, 'legacy.txt'), 'old');
    const legacy = await storage.openStored({ namespace: 'a', location: `file://${path.join(root, 'legacy.txt')}`, version: undefined, sha256: sha256('old') });
    expect(legacy.found).toBe(true);
    if (!legacy.found) return;
    let text = '';
    for await (const chunk of legacy.reader.stream()) text += String(chunk);
    expect(text).toBe('old');
  });

  it('says missing for a file deleted from the disk', async () => {
    const mine = await publish(storage, 'a', 'file.txt', 'mine');
    await rm(new URL(mine.location));
    expect(await storage.openStored({ namespace: 'a', location: mine.location, version: mine.version, sha256: sha256('mine') })).toEqual({
      found: false,
      why: 'missing',
    });
  });

  it('lets a reader opened before an overwrite read the old bytes whole: the open handle keeps them', async () => {
    const first = await publish(storage, 'a', 'same.txt', 'first bytes');
    const before = await storage.openStored({ namespace: 'a', location: first.location, version: first.version, sha256: sha256('first bytes') });
    await publish(storage, 'a', 'same.txt', 'second', 'overwrite');
    expect(before.found).toBe(true);
    if (!before.found) return;
    let text = '';
    for await (const chunk of before.reader.stream()) text += String(chunk);
    expect(text).toBe('first bytes');
  });

  it('makes a namespace directory removed since the last publish again', async () => {
    await publish(storage, 'a', 'one.txt', '1');
    await rm(path.join(root, 'a'), { recursive: true });
    const again = await publish(storage, 'a', 'two.txt', '2');
    expect(again.filename).toBe('two.txt');
  });

  it('refuses a checkpoint naming a file outside .parts', async () => {
    await writeFile(path.join(root, 'outside.part'), 'not a part');
    expect(await storage.resumePart('job-1', 2, { part: '../outside.part', bytes: 3, validator: '"v"' }, () => undefined)).toBeUndefined();
    await expect(storage.removePart('../outside.part')).rejects.toThrow(/not a part file name/);
  });
});
