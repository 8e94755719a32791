import { randomBytes } from 'node:crypto';
import { createReadStream, createWriteStream, type WriteStream } from 'node:fs';
import { link, mkdir, open, readdir, rename, stat, unlink } from 'node:fs/promises';
import path from 'node:path';
import { finished } from 'node:stream/promises';
import { pathToFileURL } from 'node:url';
import { FerryError } from '../errors.js';
import type { Checkpoint } from '../schemas.js';
import { numberedFilename } from './filename.js';
import type { ConflictPolicy, PartWriter, Storage, StoredFile, StoredPart } from './storage.js';

/** Part files live beside the published ones so that publishing is a same-filesystem link or rename. */
export const PARTS_DIRNAME = '.parts';
const PART_SUFFIX = '.part';
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

function ignoreMissing(err: NodeJS.ErrnoException): void {
  if (err.code !== 'ENOENT') throw err;
}

/**
 * Publishes without replacing: link(2) fails with EEXIST when the name is taken,
 * so two jobs that want the same name both keep their bytes.
 */
async function linkUnderFreeName(partPath: string, root: string, filename: string, policy: 'rename' | 'fail'): Promise<string> {
  for (let n = 0; n <= MAX_NAME_COLLISIONS; n += 1) {
    const candidate = n === 0 ? filename : numberedFilename(filename, n);
    try {
      await link(partPath, insideRoot(root, candidate));
      return candidate;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      if (policy === 'fail') {
        throw new FerryError('FERRY_ERR_FILE_EXISTS', `a file named ${filename} already exists in storage and the conflict policy is fail`, {
          data: { filename },
        });
      }
    }
  }
  throw new Error(`more than ${MAX_NAME_COLLISIONS} files are already named like ${filename}`);
}

// Names are sanitized before they get here; this keeps a future bug there from writing outside the root.
function insideRoot(root: string, filename: string): string {
  const target = path.join(root, filename);
  if (path.dirname(target) !== root) throw new Error(`refusing to publish outside the storage root: ${filename}`);
  return target;
}

class LocalPartWriter implements PartWriter {
  readonly writable: WriteStream;
  #error: Error | undefined;

  constructor(
    private readonly root: string,
    private readonly partPath: string,
  ) {
    // `flush` fsyncs before close: once the stream has closed, the bytes are durable.
    this.writable = createWriteStream(partPath, { flags: 'wx', mode: 0o644, flush: true, highWaterMark: WRITE_BUFFER_BYTES });
    // Kept rather than thrown: a write error after the download gave up (while keeping or discarding) must not crash the worker.
    this.writable.on('error', (err) => {
      this.#error ??= err;
    });
  }

  get name(): string {
    return path.basename(this.partPath);
  }

  bytesWritten(): number {
    return this.writable.bytesWritten;
  }

  async commit(filename: string, policy: ConflictPolicy): Promise<StoredFile> {
    if (!this.writable.closed) await finished(this.writable);
    let published: string;
    if (policy === 'overwrite') {
      await rename(this.partPath, insideRoot(this.root, filename));
      published = filename;
    } else {
      published = await linkUnderFreeName(this.partPath, this.root, filename, policy);
      await unlink(this.partPath);
    }
    await fsyncDirectory(this.root);
    return { location: pathToFileURL(path.join(this.root, published)).href, filename: published };
  }

  async keep(): Promise<number> {
    // A failed pipeline has usually destroyed the stream already; what it wrote before that is on disk.
    if (!this.writable.destroyed && !this.writable.writableEnded) this.writable.end();
    await this.#closed();
    if (this.#error !== undefined) throw this.#error;
    const handle = await open(this.partPath, 'r+');
    try {
      await handle.sync();
    } finally {
      await handle.close();
    }
    return this.writable.bytesWritten;
  }

  async discard(): Promise<void> {
    this.writable.destroy();
    // The stream opens its file asynchronously: unlinking before it closes could run before the file even exists.
    await this.#closed();
    await unlink(this.partPath).catch(ignoreMissing);
  }

  #closed(): Promise<void> {
    return this.writable.closed ? Promise.resolve() : new Promise<void>((resolve) => this.writable.once('close', () => resolve()));
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
    const name = `${safeId}.${attempt}.${randomBytes(4).toString('hex')}${PART_SUFFIX}`;
    return new LocalPartWriter(this.root, path.join(this.partsDir, name));
  }

  /**
   * Copies the kept prefix into a new part rather than appending to the old one:
   * a worker that lost its lock may still hold the old file open, and whatever it
   * writes then lands in a file nobody will publish.
   */
  async resumePart(jobId: string, attempt: number, checkpoint: Checkpoint, onPrefix: (chunk: Buffer) => void): Promise<PartWriter | undefined> {
    if (path.basename(checkpoint.part) !== checkpoint.part || !checkpoint.part.endsWith(PART_SUFFIX)) return undefined;
    const previous = path.join(this.partsDir, checkpoint.part);
    const size = await stat(previous).then((s) => s.size, () => -1);
    if (size < checkpoint.bytes) return undefined;
    const part = await this.openPart(jobId, attempt);
    try {
      if (checkpoint.bytes > 0) {
        for await (const chunk of createReadStream(previous, { start: 0, end: checkpoint.bytes - 1, highWaterMark: WRITE_BUFFER_BYTES })) {
          onPrefix(chunk as Buffer);
          if (!part.writable.write(chunk)) await new Promise<void>((resolve) => part.writable.once('drain', () => resolve()));
        }
      }
    } catch (err) {
      await part.discard();
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw err;
    }
    await unlink(previous).catch(ignoreMissing);
    return part;
  }

  async listParts(): Promise<StoredPart[]> {
    const names = await readdir(this.partsDir).catch((err: NodeJS.ErrnoException) => {
      if (err.code === 'ENOENT') return [];
      throw err;
    });
    const parts: StoredPart[] = [];
    for (const name of names.filter((n) => n.endsWith(PART_SUFFIX))) {
      const modifiedAt = await stat(path.join(this.partsDir, name)).then((s) => s.mtimeMs, () => undefined);
      if (modifiedAt !== undefined) parts.push({ name, jobId: name.slice(0, name.indexOf('.')), modifiedAt });
    }
    return parts;
  }

  async removePart(name: string): Promise<void> {
    if (path.basename(name) !== name) throw new Error(`not a part file name: ${name}`);
    await unlink(path.join(this.partsDir, name)).catch(ignoreMissing);
  }
}
