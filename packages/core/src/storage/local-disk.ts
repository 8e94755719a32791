import { randomBytes } from 'node:crypto';
import { createWriteStream, type WriteStream } from 'node:fs';
import { link, mkdir, open, unlink } from 'node:fs/promises';
import path from 'node:path';
import { finished } from 'node:stream/promises';
import { pathToFileURL } from 'node:url';
import { numberedFilename } from './filename.js';
import type { PartWriter, Storage, StoredFile } from './storage.js';

/** Part files live beside the published ones so that publishing is a same-filesystem link. */
export const PARTS_DIRNAME = '.parts';
const MAX_NAME_COLLISIONS = 10_000;
const WRITE_BUFFER_BYTES = 1024 * 1024;

async function fsyncDirectory(dir: string): Promise<void> {
  const handle = await open(dir, 'r');
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}

/**
 * Publishes without ever replacing: link(2) fails with EEXIST when the name is
 * taken, so two jobs that want the same name both keep their bytes.
 */
async function linkUnderFreeName(partPath: string, root: string, filename: string): Promise<string> {
  for (let n = 0; n <= MAX_NAME_COLLISIONS; n += 1) {
    const candidate = n === 0 ? filename : numberedFilename(filename, n);
    const target = path.join(root, candidate);
    // The name was sanitized already; this keeps a future bug in that code from writing outside the root.
    if (path.dirname(target) !== root) throw new Error(`refusing to publish outside the storage root: ${candidate}`);
    try {
      await link(partPath, target);
      return candidate;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    }
  }
  throw new Error(`more than ${MAX_NAME_COLLISIONS} files are already named like ${filename}`);
}

class LocalPartWriter implements PartWriter {
  readonly writable: WriteStream;

  constructor(
    private readonly root: string,
    private readonly partPath: string,
  ) {
    // `flush` fsyncs before close: once the stream has closed, the bytes are durable.
    this.writable = createWriteStream(partPath, { flags: 'wx', mode: 0o644, flush: true, highWaterMark: WRITE_BUFFER_BYTES });
  }

  async commit(filename: string): Promise<StoredFile> {
    if (!this.writable.closed) await finished(this.writable);
    const published = await linkUnderFreeName(this.partPath, this.root, filename);
    await unlink(this.partPath);
    await fsyncDirectory(this.root);
    return { location: pathToFileURL(path.join(this.root, published)).href, filename: published };
  }

  async discard(): Promise<void> {
    this.writable.destroy();
    await unlink(this.partPath).catch((err: NodeJS.ErrnoException) => {
      if (err.code !== 'ENOENT') throw err;
    });
  }
}

export class LocalDiskStorage implements Storage {
  readonly root: string;
  readonly partsDir: string;

  constructor(root: string) {
    this.root = path.resolve(root);
    this.partsDir = path.join(this.root, PARTS_DIRNAME);
  }

  async openPart(jobId: string, attempt: number): Promise<PartWriter> {
    await mkdir(this.partsDir, { recursive: true });
    const safeId = jobId.replace(/[^A-Za-z0-9_-]/g, '_');
    // Unique per attempt: a worker that lost its lock may still be writing its own part file.
    const partPath = path.join(this.partsDir, `${safeId}.${attempt}.${randomBytes(4).toString('hex')}.part`);
    return new LocalPartWriter(this.root, partPath);
  }
}
