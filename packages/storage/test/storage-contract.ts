import { createHash, randomBytes, randomUUID } from 'node:crypto';
import { FerryError } from '@ferry/contract';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { Checkpoint, ConflictPolicy, PartOptions, PartWriter, PublishTarget, Storage, StoredFile, StoredFileRef, StoredReader } from '../src/index.js';

/** One backend instance for one test, and how to throw it away afterwards. */
export interface StorageUnderTest {
  readonly storage: Storage;
  /** Another instance over the same place, as another worker has. */
  reopen(): Storage;
  close(): Promise<void>;
}

const MiB = 1024 * 1024;
/** A backend that has not asked the writer to wait by then buffers without bound. */
const MOST_QUEUED_BEFORE_BACKPRESSURE = 64 * MiB;

const sha256 = (bytes: Buffer | string) => createHash('sha256').update(bytes).digest('hex');

/**
 * Hashes as the engine does, each chunk just before it is written, except that
 * the "hash state" it saves is the count of bytes it covers: a backend that
 * records saved digests must record the one saved where its resume point ends.
 */
class CountingWriter {
  written = 0;
  readonly options: PartOptions = { saveDigests: () => CountingWriter.digestsAfter(this.written) };

  static digestsAfter(bytes: number): string {
    return `digests after ${bytes} bytes`;
  }

  write(part: PartWriter, bytes: Buffer | string): boolean {
    const chunk = Buffer.from(bytes);
    this.written += chunk.length;
    return part.write(chunk);
  }
}

async function readAll(reader: StoredReader, range?: { start: number; end: number }): Promise<Buffer> {
  const chunks: Buffer[] = [];
  try {
    for await (const chunk of reader.stream(range)) chunks.push(chunk as Buffer);
  } finally {
    await reader.close();
  }
  return Buffer.concat(chunks);
}

/**
 * The behaviour every Storage backend promises, checked through the Storage
 * interface alone, so local disk and S3 are held to the same words. Checks
 * that depend on how a backend lays things out (inodes, directory names) belong
 * in that backend's own test file.
 */
export function runStorageContract(name: string, makeStorage: () => Promise<StorageUnderTest>): void {
  describe(`${name} (the storage contract)`, () => {
    const made: StorageUnderTest[] = [];
    let storage: Storage;
    let current: StorageUnderTest;
    beforeEach(async () => {
      current = await makeStorage();
      made.push(current);
      storage = current.storage;
    });
    afterEach(async () => {
      await Promise.all(made.splice(0).map((one) => one.close()));
    });

    const jobId = () => `job-${randomUUID()}`;

    async function partWith(bytes: Buffer | string, id = jobId(), attempt = 1): Promise<PartWriter> {
      const writer = new CountingWriter();
      const part = await storage.openPart(id, attempt, writer.options);
      writer.write(part, bytes);
      return part;
    }

    /** Writes as the engine does, waiting whenever the part asks. */
    async function writeAll(part: PartWriter, writer: CountingWriter, bytes: Buffer, chunkSize = 256 * 1024): Promise<void> {
      for (let at = 0; at < bytes.length; at += chunkSize) {
        if (!writer.write(part, bytes.subarray(at, at + chunkSize))) await part.drained();
      }
      await part.flush();
      expect(part.failure).toBeUndefined();
    }

    async function publish(bytes: Buffer | string, namespace: string, filename: string, policy: ConflictPolicy = 'rename'): Promise<StoredFile> {
      return (await partWith(bytes)).commit({ namespace, filename, policy });
    }

    const refOf = (stored: StoredFile, namespace: string, bytes: Buffer | string): StoredFileRef => ({
      namespace,
      location: stored.location,
      version: stored.version,
      sha256: sha256(bytes),
    });

    async function contentOfBytes(on: Storage, ref: StoredFileRef, range?: { start: number; end: number }): Promise<Buffer> {
      const opened = await on.openStored(ref);
      if (!opened.found) throw new Error(`expected ${ref.location} to be found, it is ${opened.why}`);
      return readAll(opened.reader, range);
    }

    async function contentOf(ref: StoredFileRef, range?: { start: number; end: number }): Promise<string> {
      const opened = await storage.openStored(ref);
      if (!opened.found) throw new Error(`expected ${ref.location} to be found, it is ${opened.why}`);
      return (await readAll(opened.reader, range)).toString();
    }

    const partNames = async () => (await storage.listParts()).map((part) => part.name);

    describe('when writing a part', () => {
      it('asks the writer to wait before it buffers without bound, and stores every byte once drained', async () => {
        const part = await storage.openPart(jobId(), 1);
        const hash = createHash('sha256');
        const chunk = randomBytes(256 * 1024);
        let queued = 0;
        let waited = 0;
        while (waited < 2) {
          hash.update(chunk);
          queued += chunk.length;
          if (!part.write(chunk)) {
            waited += 1;
            await part.drained();
          }
          expect(queued - part.bytesWritten()).toBeLessThanOrEqual(MOST_QUEUED_BEFORE_BACKPRESSURE);
        }
        await part.flush();
        expect(part.failure).toBeUndefined();
        expect(part.bytesWritten()).toBe(queued);
        const stored = await part.commit({ namespace: 'writer', filename: 'big.bin', policy: 'rename' });
        const opened = await storage.openStored({ namespace: 'writer', location: stored.location, version: stored.version, sha256: hash.digest('hex') });
        expect(opened.found).toBe(true);
        if (opened.found) expect(opened.reader.size).toBe(queued);
        if (opened.found) await opened.reader.close();
      });

      it("rejects a wait with the signal's reason when the signal aborts", async () => {
        const part = await storage.openPart(jobId(), 1);
        const chunk = Buffer.alloc(MiB);
        for (let queued = 0; part.write(chunk); queued += chunk.length) {
          expect(queued).toBeLessThan(MOST_QUEUED_BEFORE_BACKPRESSURE);
        }
        const reason = new Error('paused');
        await expect(part.drained(AbortSignal.abort(reason))).rejects.toBe(reason);
        await part.discard();
      });

      it('keeps the part with every byte written, and lists it under its job', async () => {
        const id = jobId();
        const part = await partWith('hello world', id);
        expect(await part.keep()).toBe(11);
        const listed = (await storage.listParts()).find((p) => p.name === part.name);
        expect(listed).toMatchObject({ name: part.name, jobId: id });
        expect(Math.abs(listed!.modifiedAt - Date.now())).toBeLessThan(60_000);
      });
    });

    describe('when resuming from a checkpoint', () => {
      async function keptPart(text: Buffer | string): Promise<{ part: PartWriter; id: string; checkpoint: Checkpoint }> {
        const id = jobId();
        const part = await partWith(text, id);
        await part.keep();
        return { part, id, checkpoint: { ...part.resumePoint(), validator: '"v1"' } };
      }

      /** What a resumed part must be told of its prefix: the bytes themselves, or the digests saved where they end. */
      function expectPrefixHanded(checkpoint: Checkpoint, prefix: Buffer[], text: string): void {
        if (storage.resumesFromSavedDigests === true) {
          expect(prefix).toEqual([]);
          expect(checkpoint.digests).toBe(CountingWriter.digestsAfter(Buffer.byteLength(text)));
        } else {
          expect(Buffer.concat(prefix).toString()).toBe(text);
        }
      }

      it('starts the new part with the kept bytes, hands over their prefix or digests and removes the old part', async () => {
        const { part: old, id, checkpoint } = await keptPart('hello');
        expect(checkpoint).toMatchObject({ part: old.name, bytes: 5 });
        const prefix: Buffer[] = [];
        const resumed = await storage.resumePart(id, 2, checkpoint, (chunk) => prefix.push(chunk));
        expect(resumed).toBeDefined();
        expectPrefixHanded(checkpoint, prefix, 'hello');
        expect(resumed!.bytesWritten()).toBe(5);
        expect(resumed!.name).not.toBe(old.name);
        const names = await partNames();
        expect(names).not.toContain(old.name);

        resumed!.write(Buffer.from(', again'));
        const stored = await resumed!.commit({ namespace: 'resume', filename: 'resumed.txt', policy: 'rename' });
        expect(await contentOf(refOf(stored, 'resume', 'hello, again'))).toBe('hello, again');
        expect(await partNames()).toEqual([]);
      });

      // Killed: the worker is gone. Abandoned: it lost its lock, and the job's new owner took over from the same checkpoint.
      for (const ending of ['was killed', 'abandoned the part (its job got another owner)'] as const) {
        it(`continues, on another instance, a part whose writer ${ending}, from its last resume point, with every byte once`, async () => {
          const id = jobId();
          const bytes = randomBytes(12 * MiB);
          const writer = new CountingWriter();
          const target = { namespace: 'resume', filename: `${ending.split(' ')[0]}.bin`, policy: 'fail' } as const;
          const first = await storage.openPart(id, 1, { ...writer.options, target });
          await writeAll(first, writer, bytes);
          // No keep: the checkpoint is the last one the writer reported.
          const point = first.resumePoint();
          expect(point.bytes).toBeGreaterThan(0);
          expect(point.bytes).toBeLessThanOrEqual(bytes.length);
          if (storage.resumesFromSavedDigests === true) expect(point.digests).toBe(CountingWriter.digestsAfter(point.bytes));
          if (ending !== 'was killed') await first.abandon();

          const other = current.reopen();
          const rest = new CountingWriter();
          rest.written = point.bytes;
          const prefix: Buffer[] = [];
          const resumed = await other.resumePart(id, 2, { ...point, validator: '"v1"' }, (chunk) => prefix.push(chunk), { ...rest.options, target });
          expect(resumed).toBeDefined();
          if (storage.resumesFromSavedDigests !== true) expect(sha256(Buffer.concat(prefix))).toBe(sha256(bytes.subarray(0, point.bytes)));
          expect(resumed!.bytesWritten()).toBe(point.bytes);
          await writeAll(resumed!, rest, bytes.subarray(point.bytes));
          const stored = await resumed!.commit(target);
          const ref = { namespace: 'resume', location: stored.location, version: stored.version, sha256: sha256(bytes) };
          const opened = await other.openStored(ref);
          expect(opened.found).toBe(true);
          if (!opened.found) return;
          expect(opened.reader.size).toBe(bytes.length);
          expect(sha256(await readAll(opened.reader))).toBe(sha256(bytes));
          // A range across the first upload part's end, on backends that have one.
          const range = { start: 5 * MiB - 10, end: 5 * MiB + 9 };
          expect((await contentOfBytes(other, ref, range)).equals(bytes.subarray(range.start, range.end + 1))).toBe(true);
          expect(await other.listParts()).toEqual([]);
        });
      }

      it('answers undefined when the kept part is shorter than the checkpoint says, and leaves it be', async () => {
        const { part: old, id, checkpoint } = await keptPart('short');
        const prefix: Buffer[] = [];
        expect(await storage.resumePart(id, 2, { ...checkpoint, bytes: 6 }, (chunk) => prefix.push(chunk))).toBeUndefined();
        expect(prefix).toEqual([]);
        expect(await partNames()).toContain(old.name);
      });

      it('answers undefined when the kept part is gone', async () => {
        const { part: old, id, checkpoint } = await keptPart('gone soon');
        await storage.removePart(old.name);
        expect(await storage.resumePart(id, 2, checkpoint, () => undefined)).toBeUndefined();
        expect(await storage.resumePart(id, 2, { ...checkpoint, part: 'never-written.1.00000000.part' }, () => undefined)).toBeUndefined();
      });

      it("stops copying the kept prefix when the signal aborts, rejects with the signal's reason and keeps the old part for a later attempt", async () => {
        const bytes = 16 * MiB;
        const { part: old, id, checkpoint } = await keptPart(Buffer.alloc(bytes, 7));
        const reason = new Error('paused');
        // A backend that resumes from saved digests copies no prefix: only the signal's state before the call counts.
        if (storage.resumesFromSavedDigests !== true) {
          const pause = new AbortController();
          let copied = 0;
          const resuming = storage.resumePart(
            id,
            2,
            checkpoint,
            (chunk) => {
              copied += chunk.length;
              pause.abort(reason);
            },
            { signal: pause.signal },
          );
          await expect(resuming).rejects.toBe(reason);
          expect(copied).toBeLessThan(bytes);
        }
        await expect(storage.resumePart(id, 3, checkpoint, () => undefined, { signal: AbortSignal.abort(reason) })).rejects.toBe(reason);
        expect((await storage.listParts()).filter((p) => p.jobId === id).map((p) => p.name)).toEqual([old.name]);
      });

      it('answers undefined for a second resume from the same checkpoint', async () => {
        const { id, checkpoint } = await keptPart('only once');
        const first = await storage.resumePart(id, 2, checkpoint, () => undefined);
        expect(first).toBeDefined();
        expect(await storage.resumePart(id, 3, checkpoint, () => undefined)).toBeUndefined();
        await first!.discard();
        expect(await partNames()).toEqual([]);
      });
    });

    describe('when committing under a name that is taken', () => {
      it('renames: the second file becomes "name (1).ext", the third "name (2).ext", each with its own bytes', async () => {
        const first = await publish('one', 'rename', 'report.pdf');
        const second = await publish('two', 'rename', 'report.pdf');
        const third = await publish('three', 'rename', 'report.pdf', 'rename');
        expect([first.filename, second.filename, third.filename]).toEqual(['report.pdf', 'report (1).pdf', 'report (2).pdf']);
        expect(await contentOf(refOf(first, 'rename', 'one'))).toBe('one');
        expect(await contentOf(refOf(second, 'rename', 'two'))).toBe('two');
        expect(await contentOf(refOf(third, 'rename', 'three'))).toBe('three');
      });

      it('overwrites: the name holds the new bytes under a new version, and a reader of the old ones never reads the new', async () => {
        const first = await publish('first bytes', 'overwrite', 'same.txt', 'overwrite');
        const before = await storage.openStored(refOf(first, 'overwrite', 'first bytes'));
        expect(before.found).toBe(true);

        const second = await publish('second', 'overwrite', 'same.txt', 'overwrite');
        expect(second.filename).toBe('same.txt');
        expect(second.location).toBe(first.location);
        expect(second.version).not.toBe(first.version);
        expect(await contentOf(refOf(second, 'overwrite', 'second'))).toBe('second');
        // Local disk still reads the old bytes (see its own tests); S3 without versions has them no more and fails the read.
        if (before.found) {
          const read = await readAll(before.reader).then(
            (bytes) => bytes.toString(),
            (err: unknown) => err,
          );
          if (typeof read === 'string') expect(read).toBe('first bytes');
          else expect(read).toBeInstanceOf(Error);
        }
      });

      it.each([
        ['told where it will be published when the part opens', true],
        ['told only at commit', false],
      ])('publishes a file of several upload parts under each policy, %s, with every byte in place', async (_when, told) => {
        const bytes = randomBytes(6 * MiB + 123);
        const big = async (policy: ConflictPolicy): Promise<{ part: PartWriter; target: PublishTarget }> => {
          const target = { namespace: 'big', filename: 'big.bin', policy };
          const writer = new CountingWriter();
          const part = await storage.openPart(jobId(), 1, { ...writer.options, ...(told ? { target } : {}) });
          await writeAll(part, writer, bytes);
          return { part, target };
        };
        const commitBig = async (policy: ConflictPolicy) => {
          const { part, target } = await big(policy);
          return part.commit(target);
        };
        const small = await publish('small', 'big', 'big.bin');
        const renamed = await commitBig('rename');
        expect(renamed.filename).toBe('big (1).bin');
        const refused = await big('fail');
        await expect(refused.part.commit(refused.target)).rejects.toMatchObject({ code: 'FERRY_ERR_FILE_EXISTS' });
        await refused.part.discard();
        const replaced = await commitBig('overwrite');
        expect(replaced.location).toBe(small.location);
        for (const stored of [renamed, replaced]) {
          const opened = await storage.openStored({ namespace: 'big', location: stored.location, version: stored.version, sha256: sha256(bytes) });
          expect(opened.found).toBe(true);
          if (opened.found) expect(sha256(await readAll(opened.reader))).toBe(sha256(bytes));
        }
        expect(await storage.openStored(refOf(small, 'big', 'small'))).toEqual({ found: false, why: 'replaced' });
        expect(await partNames()).toEqual([]);
      });

      it('fails with FERRY_ERR_FILE_EXISTS and leaves the existing file as it was', async () => {
        const kept = await publish('original', 'fail', 'kept.txt');
        const intruder = await partWith('intruder');
        await intruder.keep();
        const failed = await intruder.commit({ namespace: 'fail', filename: 'kept.txt', policy: 'fail' }).catch((err: unknown) => err);
        expect(failed).toBeInstanceOf(FerryError);
        expect(failed).toMatchObject({ code: 'FERRY_ERR_FILE_EXISTS', retryable: false });
        expect(await contentOf(refOf(kept, 'fail', 'original'))).toBe('original');

        await intruder.discard();
        await intruder.discard();
        expect(await partNames()).not.toContain(intruder.name);
      });

      it('publishes under the name itself when it is free, whatever the policy', async () => {
        for (const policy of ['rename', 'overwrite', 'fail'] as const) {
          expect((await publish(policy, 'free', `${policy}.txt`, policy)).filename).toBe(`${policy}.txt`);
        }
      });
    });

    describe('when two namespaces publish the same name', () => {
      it('gives each its own file, renaming around neither', async () => {
        const a = await publish('from a', 'team-a', 'same.txt');
        const b = await publish('from b', 'team-b', 'same.txt', 'fail');
        const c = await publish('from c', 'Team-A', 'same.txt', 'overwrite');
        expect([a.filename, b.filename, c.filename]).toEqual(['same.txt', 'same.txt', 'same.txt']);
        expect(new Set([a.location, b.location, c.location]).size).toBe(3);
        expect(await contentOf(refOf(a, 'team-a', 'from a'))).toBe('from a');
        expect(await contentOf(refOf(b, 'team-b', 'from b'))).toBe('from b');
        expect(await contentOf(refOf(c, 'Team-A', 'from c'))).toBe('from c');
      });

      it("says missing when one namespace asks for another's file", async () => {
        const mine = await publish('mine', 'owner', 'private.txt');
        expect(await storage.openStored(refOf(mine, 'stranger', 'mine'))).toEqual({ found: false, why: 'missing' });
      });
    });

    describe('when discarding a part', () => {
      it('removes its bytes, and a second discard is no error', async () => {
        const part = await partWith('thrown away');
        await part.keep();
        expect(await partNames()).toContain(part.name);
        await part.discard();
        await part.discard();
        expect(await partNames()).not.toContain(part.name);
      });

      it('removes a part discarded before its first write settled', async () => {
        const part = await storage.openPart(jobId(), 1);
        await part.discard();
        expect(await partNames()).not.toContain(part.name);
      });

      it('removes a part of several upload parts discarded while it is being written', async () => {
        const writer = new CountingWriter();
        const part = await storage.openPart(jobId(), 1, writer.options);
        const bytes = randomBytes(11 * MiB);
        for (let at = 0; at < bytes.length; at += MiB) writer.write(part, bytes.subarray(at, at + MiB));
        await part.discard();
        await part.discard();
        expect(await partNames()).toEqual([]);
      });
    });

    describe('the janitor', () => {
      it('removes a part by its listed name, and a part already gone is no error', async () => {
        const part = await partWith('left over');
        await part.keep();
        await storage.removePart(part.name);
        expect(await partNames()).not.toContain(part.name);
        await storage.removePart(part.name);
      });
    });

    describe('when opening a stored file', () => {
      it('reads the bytes whole or in an inclusive range, with their size and time', async () => {
        const started = Date.now();
        const stored = await publish('0123456789', 'reader', 'digits.txt');
        const ref = refOf(stored, 'reader', '0123456789');
        expect(await contentOf(ref)).toBe('0123456789');
        expect(await contentOf(ref, { start: 2, end: 4 })).toBe('234');
        expect(await contentOf(ref, { start: 9, end: 9 })).toBe('9');
        const opened = await storage.openStored(ref);
        expect(opened.found).toBe(true);
        if (!opened.found) return;
        expect(opened.reader.size).toBe(10);
        expect(opened.reader.modifiedAt.getTime()).toBeGreaterThan(started - 60_000);
        await opened.reader.close();
      });

      it('reads an empty file', async () => {
        const stored = await publish('', 'reader', 'empty.txt');
        expect(await contentOf(refOf(stored, 'reader', ''))).toBe('');
      });

      it('says replaced once an overwrite put other bytes under the name', async () => {
        const first = await publish('first', 'replaced', 'file.txt');
        await publish('second', 'replaced', 'file.txt', 'overwrite');
        expect(await storage.openStored(refOf(first, 'replaced', 'first'))).toEqual({ found: false, why: 'replaced' });
      });

      it('accepts other bytes under the name when their sha256 is the recorded one (a restored copy)', async () => {
        const first = await publish('same', 'restored', 'file.txt');
        await publish('same', 'restored', 'file.txt', 'overwrite');
        expect(await contentOf(refOf(first, 'restored', 'same'))).toBe('same');
      });

      it("says missing for a location that is not this storage's", async () => {
        const other = await makeStorage();
        made.push(other);
        const elsewhere = await other.storage.openPart(jobId(), 1);
        elsewhere.write(Buffer.from('elsewhere'));
        const stored = await elsewhere.commit({ namespace: 'reader', filename: 'elsewhere.txt', policy: 'rename' });
        expect(await storage.openStored(refOf(stored, 'reader', 'elsewhere'))).toEqual({ found: false, why: 'missing' });
        expect(await storage.openStored({ namespace: 'reader', location: 'not a location', version: undefined, sha256: sha256('') })).toEqual({
          found: false,
          why: 'missing',
        });
      });
    });
  });
}
