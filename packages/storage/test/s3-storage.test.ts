import { createHash, randomBytes } from 'node:crypto';
import { CompleteMultipartUploadCommand, GetObjectCommand, HeadObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FerryError } from '@ferry/contract';
import type { PublishTarget } from '../src/index.js';
import { S3Storage } from '../src/s3/s3-storage.js';
import { runStorageContract } from './storage-contract.js';
import { startS3Server, type S3TestServer } from './support/s3-server.js';

const MiB = 1024 * 1024;
const sha256 = (bytes: Buffer) => createHash('sha256').update(bytes).digest('hex');

const clientOf = (server: S3TestServer) => server.createClient();

/** The smallest part S3 allows, so the suite's files of a few MiB span several upload parts. */
const storageOn = (server: S3TestServer, keyPrefix = 'ferry/') =>
  new S3Storage({ client: clientOf(server), bucket: server.bucket, keyPrefix, partSize: 5 * MiB });

runStorageContract('S3Storage on s3rver', async () => {
  const server = await startS3Server();
  return { storage: storageOn(server), reopen: () => storageOn(server), close: () => server.close() };
});

describe('S3Storage in the bucket', () => {
  let server: S3TestServer;
  let storage: S3Storage;
  let client: S3Client;
  beforeAll(async () => {
    server = await startS3Server();
    storage = storageOn(server);
    client = clientOf(server);
  });
  afterAll(() => server.close());

  async function written(bytes: Buffer): Promise<ReturnType<S3Storage['openPart']> extends Promise<infer P> ? P : never> {
    const part = await storage.openPart(`job-${Math.random()}`, 1);
    for (let at = 0; at < bytes.length; at += 256 * 1024) if (!part.write(bytes.subarray(at, at + 256 * 1024))) await part.drained();
    await part.flush();
    return part;
  }

  it('publishes at s3://bucket/<prefix><namespace folder>/<name>, the folder named as on local disk', async () => {
    const part = await written(Buffer.from('hello'));
    const stored = await part.commit({ namespace: 'Alice', filename: 'a b.txt', policy: 'rename' });
    const key = `ferry/~${Buffer.from('Alice').toString('hex')}/a b.txt`;
    expect(stored.location).toBe(`s3://${server.bucket}/${key}`);
    const head = await client.send(new HeadObjectCommand({ Bucket: server.bucket, Key: key }));
    expect(stored.version).toBe(head.ETag);
  });

  it('shows nothing under the final key until commit, and a part of several upload parts as one object after', async () => {
    const bytes = randomBytes(11 * MiB);
    const part = await written(bytes);
    const key = 'ferry/late/late.bin';
    await expect(client.send(new HeadObjectCommand({ Bucket: server.bucket, Key: key }))).rejects.toMatchObject({ name: 'NotFound' });
    const point = part.resumePoint();
    expect(point.bytes).toBe(10 * MiB);
    expect(point.state).toMatchObject({ sizes: [5 * MiB, 5 * MiB], tail: 0 });
    await part.commit({ namespace: 'late', filename: 'late.bin', policy: 'fail' });
    const got = await client.send(new GetObjectCommand({ Bucket: server.bucket, Key: key }));
    expect(sha256(Buffer.from(await got.Body!.transformToByteArray()))).toBe(sha256(bytes));
    expect(await storage.listParts()).toEqual([]);
  });

  it('holds at most partsInFlight + 1 upload parts in memory: a write is refused room while two parts are sent and the next is full', async () => {
    const part = await storage.openPart('job-memory', 1);
    const chunk = Buffer.alloc(256 * 1024);
    let queued = 0;
    while (part.write(chunk)) queued += chunk.length;
    queued += chunk.length;
    // Two parts in flight (5 MiB each) and one filled (5 MiB) before the writer is told to wait.
    expect(storage.partsInFlight).toBe(2);
    expect(queued).toBe(15 * MiB);
    await part.drained();
    await part.flush();
    // Every full part is sent once there is room.
    expect(part.resumePoint().bytes).toBe(15 * MiB);
    await part.discard();
  });

  describe('when several downloads share its part buffers', () => {
    /** A storage of `partBuffers` buffers whose UploadParts wait until `release` is called. */
    function heldStorage(partBuffers: number) {
      const held = storageOn(server, 'pool/');
      let release = () => {};
      const released = new Promise<void>((resolve) => (release = resolve));
      held.client.middlewareStack.add(
        (next, context) => async (args) => {
          if (context.commandName === 'UploadPartCommand') await released;
          return next(args);
        },
        { step: 'initialize', name: 'hold-parts' },
      );
      return { storage: new S3Storage({ client: held.client, bucket: server.bucket, keyPrefix: 'pool/', partSize: 5 * MiB, partBuffers }), release };
    }
    const chunk = Buffer.alloc(256 * 1024);
    /** Writes until the part asks to wait; answers the bytes it took. */
    function fill(part: Awaited<ReturnType<S3Storage['openPart']>>): number {
      let queued = chunk.length;
      while (part.write(chunk)) queued += chunk.length;
      return queued;
    }

    it('lends at most partBuffers of them to all downloads together: a download finds none left and waits', async () => {
      const { storage: pooled, release } = heldStorage(4);
      const first = await pooled.openPart('job-pool-1', 1);
      const second = await pooled.openPart('job-pool-2', 1);
      // The first holds three buffers (two parts sent, one full), the second the last one, sent as its first part.
      expect(fill(first)).toBe(15 * MiB);
      expect(fill(second)).toBe(5 * MiB + chunk.length);
      let waited = false;
      const draining = second.drained().then(() => (waited = true));
      await new Promise((resolve) => setTimeout(resolve, 200));
      expect(waited).toBe(false);
      release();
      await draining;
      await Promise.all([first.flush(), second.flush()]);
      expect(first.resumePoint().bytes).toBe(15 * MiB);
      expect(second.resumePoint().bytes).toBe(5 * MiB);
      await Promise.all([first.discard(), second.discard()]);
    });

    it("stops waiting for a buffer with the signal's reason when the signal aborts", async () => {
      const { storage: pooled, release } = heldStorage(1);
      const part = await pooled.openPart('job-pool-abort', 1);
      expect(fill(part)).toBe(5 * MiB + chunk.length);
      const reason = new Error('cancelled');
      const abort = new AbortController();
      const waiting = part.drained(abort.signal);
      abort.abort(reason);
      await expect(waiting).rejects.toBe(reason);
      release();
      await part.discard();
    });

    it('keeps and commits a part whose chunks wait for a buffer without waiting for one: a pause or a shutdown does not wait on other downloads', async () => {
      const { storage: pooled, release } = heldStorage(1);
      const holder = await pooled.openPart('job-pool-holder', 1);
      holder.write(chunk);
      const kept = await pooled.openPart('job-pool-kept', 1);
      const committed = await pooled.openPart('job-pool-committed', 1);
      kept.write(chunk);
      committed.write(chunk);
      const stuck = new Promise((resolve) => setTimeout(resolve, 3000, 'still waiting for the holder’s buffer'));
      expect(await Promise.race([kept.keep(), stuck])).toBe(chunk.length);
      const stored = await Promise.race([committed.commit({ namespace: 'pool', filename: 'waited.bin', policy: 'rename' }), stuck]);
      expect(stored).toMatchObject({ filename: 'waited.bin' });
      release();
      await Promise.all([holder.discard(), kept.discard()]);
    });

    it('gives every buffer back when downloads end: later downloads get them all', async () => {
      const { storage: pooled, release } = heldStorage(3);
      release();
      const kept: string[] = [];
      for (const ending of ['commit', 'keep', 'discard'] as const) {
        const part = await pooled.openPart(`job-pool-${ending}`, 1);
        for (let queued = 0; queued < 12 * MiB; queued += chunk.length) if (!part.write(chunk)) await part.drained();
        if (ending === 'commit') await part.commit({ namespace: 'pool', filename: 'ended.bin', policy: 'rename' });
        else if (ending === 'keep') kept.push(part.name, String(await part.keep()));
        else await part.discard();
      }
      const last = await pooled.openPart('job-pool-last', 1);
      expect(fill(last)).toBe(15 * MiB);
      await last.flush();
      await last.discard();
      await pooled.removePart(kept[0]!);
    });
  });

  it('counts in its resume point only parts with every part before them done, when they finish out of order', async () => {
    const slow = storageOn(server);
    let releaseFirst = () => {};
    const firstHeld = new Promise<void>((resolve) => (releaseFirst = resolve));
    let secondDone = () => {};
    const secondFinished = new Promise<void>((resolve) => (secondDone = resolve));
    slow.client.middlewareStack.add(
      (next, context) => async (args) => {
        const number = (args.input as { PartNumber?: number }).PartNumber;
        if (context.commandName === 'UploadPartCommand' && number === 1) await firstHeld;
        const out = await next(args);
        if (context.commandName === 'UploadPartCommand' && number === 2) secondDone();
        return out;
      },
      { step: 'initialize', name: 'hold-part-1' },
    );
    let hashed = 0;
    const part = await slow.openPart('job-order', 1, { saveDigests: () => `after ${hashed}` });
    const bytes = randomBytes(11 * MiB);
    for (let at = 0; at < bytes.length; at += 256 * 1024) {
      const chunk = bytes.subarray(at, at + 256 * 1024);
      hashed += chunk.length;
      if (!part.write(chunk)) break;
    }
    await secondFinished;
    expect(part.resumePoint()).toMatchObject({ bytes: 0, state: { sizes: [] } });
    releaseFirst();
    await part.flush();
    expect(part.resumePoint()).toMatchObject({ bytes: 10 * MiB, digests: `after ${10 * MiB}`, state: { sizes: [5 * MiB, 5 * MiB] } });
    await part.discard();
  });

  it('aborts the multipart upload on discard, so its parts can no longer be completed', async () => {
    const part = await written(randomBytes(6 * MiB));
    const state = part.resumePoint().state as { upload: { id: string; name: string }; etags: string[] };
    await part.discard();
    await expect(
      client.send(
        new CompleteMultipartUploadCommand({
          Bucket: server.bucket,
          Key: `ferry/.parts/${state.upload.name}.upload`,
          UploadId: state.upload.id,
          MultipartUpload: { Parts: state.etags.map((ETag, i) => ({ PartNumber: i + 1, ETag })) },
        }),
      ),
    ).rejects.toThrow();
    expect(await storage.listParts()).toEqual([]);
  });

  it('lists a part in progress by its marker once its upload has started, and the janitor aborts it', async () => {
    const part = await written(randomBytes(6 * MiB));
    const listed = await storage.listParts();
    expect(listed.map((p) => p.name)).toEqual([part.name]);
    expect(listed[0]!.jobId).toMatch(/^job-0_/);
    await storage.removePart(part.name);
    expect(await storage.listParts()).toEqual([]);
    await expect(part.commit({ namespace: 'janitor', filename: 'orphan.bin', policy: 'rename' })).rejects.toThrow();
    await part.discard();
  });

  it('resumes a resumed part again, its kept bytes still in the new marker until an upload part holds them', async () => {
    const bytes = randomBytes(14 * MiB);
    let hashed = 0;
    const options = { saveDigests: () => `after ${hashed}` };
    const writeRange = async (part: Awaited<ReturnType<S3Storage['openPart']>>, from: number, to: number) => {
      for (let at = from; at < to; at += 256 * 1024) {
        const chunk = bytes.subarray(at, Math.min(at + 256 * 1024, to));
        hashed += chunk.length;
        if (!part.write(chunk)) await part.drained();
      }
      await part.flush();
    };
    const first = await storage.openPart('job-chain', 1, options);
    await writeRange(first, 0, 6 * MiB);
    await first.keep();
    const kept = { ...first.resumePoint(), validator: '"c1"' };
    expect(kept).toMatchObject({ bytes: 6 * MiB, digests: `after ${6 * MiB}`, state: { sizes: [5 * MiB], tail: MiB } });

    const second = (await storageOn(server).resumePart('job-chain', 2, kept, () => undefined, options))!;
    await writeRange(second, 6 * MiB, 8 * MiB);
    // Killed: nothing since the resume is in a whole upload part, so the resume point is the one it started from.
    const killed = { ...second.resumePoint(), validator: '"c1"' };
    expect(killed).toMatchObject({ part: second.name, bytes: 6 * MiB, digests: `after ${6 * MiB}`, state: { tail: MiB } });

    hashed = killed.bytes;
    const third = (await storageOn(server).resumePart('job-chain', 3, killed, () => undefined, options))!;
    await writeRange(third, killed.bytes, bytes.length);
    const stored = await third.commit({ namespace: 'chain', filename: 'chain.bin', policy: 'fail' });
    const got = await client.send(new GetObjectCommand({ Bucket: server.bucket, Key: stored.location.slice(`s3://${server.bucket}/`.length) }));
    expect(sha256(Buffer.from(await got.Body!.transformToByteArray()))).toBe(sha256(bytes));
    expect(await storage.listParts()).toEqual([]);
  });

  describe('when told the target at open', () => {
    async function bigPart(target: PublishTarget, bytes: Buffer) {
      const part = await storage.openPart(`job-${Math.random()}`, 1, { target });
      for (let at = 0; at < bytes.length; at += 256 * 1024) if (!part.write(bytes.subarray(at, at + 256 * 1024))) await part.drained();
      await part.flush();
      return part;
    }

    it('uploads under the final key and completes it there: no copy, nothing visible before', async () => {
      const bytes = randomBytes(11 * MiB);
      const target = { namespace: 'direct', filename: 'in-place.bin', policy: 'rename' } as const;
      const sent: string[] = [];
      storage.client.middlewareStack.add(
        (next, context) => (args) => {
          sent.push(context.commandName ?? '');
          return next(args);
        },
        { step: 'initialize', name: 'record-commands' },
      );
      const part = await bigPart(target, bytes);
      expect(part.resumePoint().state).toMatchObject({ upload: { key: 'ferry/direct/in-place.bin', direct: { filename: 'in-place.bin' } } });
      await expect(client.send(new HeadObjectCommand({ Bucket: server.bucket, Key: 'ferry/direct/in-place.bin' }))).rejects.toMatchObject({ name: 'NotFound' });
      await part.commit(target);
      storage.client.middlewareStack.remove('record-commands');
      expect(sent).toContain('CompleteMultipartUploadCommand');
      expect(sent).not.toContain('CopyObjectCommand');
      const got = await client.send(new GetObjectCommand({ Bucket: server.bucket, Key: 'ferry/direct/in-place.bin' }));
      expect(sha256(Buffer.from(await got.Body!.transformToByteArray()))).toBe(sha256(bytes));
      expect(await storage.listParts()).toEqual([]);
    });

    it('uploads under the next free name for rename when the name is taken at open', async () => {
      const first = await written(Buffer.from('first'));
      await first.commit({ namespace: 'direct', filename: 'taken.bin', policy: 'rename' });
      const target = { namespace: 'direct', filename: 'taken.bin', policy: 'rename' } as const;
      const part = await bigPart(target, randomBytes(6 * MiB));
      expect((await part.commit(target)).filename).toBe('taken (1).bin');
    });

    it('leaves a file published under the name meanwhile as it was: fail says FILE_EXISTS, rename fails retryably', async () => {
      for (const policy of ['fail', 'rename'] as const) {
        const target = { namespace: 'race', filename: `${policy}.bin`, policy };
        const part = await bigPart(target, randomBytes(6 * MiB));
        const other = await written(Buffer.from('won the race'));
        const winner = await other.commit({ namespace: 'race', filename: `${policy}.bin`, policy: 'fail' });
        const error = await part.commit(target).catch((err: unknown) => err);
        expect(error).toBeInstanceOf(FerryError);
        expect(error).toMatchObject(policy === 'fail' ? { code: 'FERRY_ERR_FILE_EXISTS' } : { code: 'FERRY_ERR_STORAGE', retryable: true });
        await part.discard();
        const got = await client.send(new GetObjectCommand({ Bucket: server.bucket, Key: `ferry/race/${policy}.bin` }));
        expect(got.ETag).toBe(winner.version);
        expect(await got.Body!.transformToString()).toBe('won the race');
      }
      expect(await storage.listParts()).toEqual([]);
    });

    it('refuses to publish under another target than the one it uploaded for', async () => {
      const target = { namespace: 'direct', filename: 'meant.bin', policy: 'overwrite' } as const;
      const part = await bigPart(target, randomBytes(6 * MiB));
      await expect(part.commit({ ...target, filename: 'other.bin' })).rejects.toThrow(/meant\.bin/);
      await part.discard();
      expect(await storage.listParts()).toEqual([]);
    });
  });

  it("stores the target's content type with the object, told at open or only at commit", async () => {
    for (const [told, size] of [
      [true, 6 * MiB],
      [false, 6 * MiB],
      [false, 100],
    ] as const) {
      const target = { namespace: 'typed', filename: `${told}-${size}.bin`, policy: 'fail', contentType: 'video/mp4' } as const;
      const part = await storage.openPart(`job-${Math.random()}`, 1, told ? { target } : {});
      const bytes = randomBytes(size);
      for (let at = 0; at < bytes.length; at += 256 * 1024) if (!part.write(bytes.subarray(at, at + 256 * 1024))) await part.drained();
      const stored = await part.commit(target);
      const head = await client.send(new HeadObjectCommand({ Bucket: server.bucket, Key: stored.location.slice(`s3://${server.bucket}/`.length) }));
      expect(head.ContentType).toBe('video/mp4');
    }
  });

  it('refuses a part size S3 would refuse', () => {
    expect(() => new S3Storage({ client: clientOf(server), bucket: server.bucket, partSize: MiB })).toThrow(/5 MiB/);
  });
});

describe('S3Storage made from client options', () => {
  it('makes its own client, with credentials from the default AWS chain', async () => {
    const server = await startS3Server();
    const saved = { id: process.env['AWS_ACCESS_KEY_ID'], secret: process.env['AWS_SECRET_ACCESS_KEY'] };
    process.env['AWS_ACCESS_KEY_ID'] = server.credentials.accessKeyId;
    process.env['AWS_SECRET_ACCESS_KEY'] = server.credentials.secretAccessKey;
    try {
      const storage = new S3Storage({ client: { endpoint: server.endpoint, region: server.region, forcePathStyle: true }, bucket: server.bucket });
      const part = await storage.openPart('job-options', 1);
      part.write(Buffer.from('through the chain'));
      const stored = await part.commit({ namespace: 'options', filename: 'chain.txt', policy: 'fail' });
      expect(stored.location).toBe(`s3://${server.bucket}/options/chain.txt`);
    } finally {
      for (const [name, value] of [
        ['AWS_ACCESS_KEY_ID', saved.id],
        ['AWS_SECRET_ACCESS_KEY', saved.secret],
      ] as const) {
        if (value === undefined) delete process.env[name];
        else process.env[name] = value;
      }
      await server.close();
    }
  });
});
