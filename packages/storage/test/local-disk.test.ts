import { mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { createHash } from 'node:crypto';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { LocalDiskStorage } from '../src/local-disk.js';
import { namespaceDirectory } from '../src/namespace-directory.js';
import type { StoredFile, StoredReader } from '../src/storage.js';

const sha256 = (text: string) => createHash('sha256').update(text).digest('hex');

async function publish(storage: LocalDiskStorage, namespace: string, filename: string, text: string, policy: 'rename' | 'overwrite' | 'fail' = 'rename'): Promise<StoredFile> {
  const part = await storage.openPart(`job-${Math.random()}`, 1);
  part.write(Buffer.from(text));
  return part.commit({ namespace, filename, policy });
}

async function readAll(reader: StoredReader, range?: { start: number; end: number }): Promise<string> {
  let text = '';
  for await (const chunk of reader.stream(range)) text += String(chunk);
  return text;
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

describe('LocalDiskStorage', () => {
  let root: string;
  let storage: LocalDiskStorage;
  beforeEach(async () => {
    root = await mkdtemp(path.join(os.tmpdir(), 'ferry-local-disk-'));
    storage = new LocalDiskStorage(root);
  });
  afterEach(() => rm(root, { recursive: true, force: true }));

  describe('when two namespaces publish the same name', () => {
    it('gives each its own file, whatever the policy', async () => {
      const a = await publish(storage, 'a', 'same.txt', 'from a');
      const b = await publish(storage, 'b', 'same.txt', 'from b', 'fail');
      const c = await publish(storage, 'c', 'same.txt', 'from c', 'overwrite');
      expect([a.filename, b.filename, c.filename]).toEqual(['same.txt', 'same.txt', 'same.txt']);
      expect(new Set([a.location, b.location, c.location]).size).toBe(3);
      expect((await readdir(root)).sort()).toEqual(['.parts', 'a', 'b', 'c']);
    });
  });

  describe('when opening a stored file', () => {
    it('reads the bytes, whole or in a range', async () => {
      const stored = await publish(storage, 'a', 'file.txt', '0123456789');
      const opened = await storage.openStored({ namespace: 'a', location: stored.location, version: stored.version, sha256: sha256('0123456789') });
      expect(opened.found).toBe(true);
      if (!opened.found) return;
      expect(opened.reader.size).toBe(10);
      expect(await readAll(opened.reader, { start: 2, end: 4 })).toBe('234');
    });

    it('says replaced once an overwrite put other bytes under the name', async () => {
      const first = await publish(storage, 'a', 'file.txt', 'first');
      await publish(storage, 'a', 'file.txt', 'second', 'overwrite');
      expect(await storage.openStored({ namespace: 'a', location: first.location, version: first.version, sha256: sha256('first') })).toEqual({ found: false, why: 'replaced' });
    });

    it('accepts other bytes of the same sha256 (a restored copy), and a file from before versions', async () => {
      const first = await publish(storage, 'a', 'file.txt', 'same');
      await publish(storage, 'a', 'file.txt', 'same', 'overwrite');
      const opened = await storage.openStored({ namespace: 'a', location: first.location, version: first.version, sha256: sha256('same') });
      expect(opened.found).toBe(true);
      if (opened.found) await opened.reader.close();
      await writeFile(path.join(root, 'legacy.txt'), 'old');
      const legacy = await storage.openStored({ namespace: 'a', location: `file://${path.join(root, 'legacy.txt')}`, version: undefined, sha256: sha256('old') });
      expect(legacy.found).toBe(true);
      if (legacy.found) expect(await readAll(legacy.reader)).toBe('old');
    });

    it("says missing for a deleted file, and for a location outside the namespace's directory", async () => {
      const mine = await publish(storage, 'a', 'file.txt', 'mine');
      const ref = { namespace: 'b', location: mine.location, version: mine.version, sha256: sha256('mine') };
      expect(await storage.openStored(ref)).toEqual({ found: false, why: 'missing' });
      await rm(new URL(mine.location));
      expect(await storage.openStored({ ...ref, namespace: 'a' })).toEqual({ found: false, why: 'missing' });
    });

    it('makes a namespace directory removed since the last publish again', async () => {
      await publish(storage, 'a', 'one.txt', '1');
      await rm(path.join(root, 'a'), { recursive: true });
      const again = await publish(storage, 'a', 'two.txt', '2');
      expect(again.filename).toBe('two.txt');
    });
  });
});
