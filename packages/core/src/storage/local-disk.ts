import { randomBytes } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { link, mkdir, open, readdir, rename, stat, unlink, type FileHandle } from 'node:fs/promises';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { FerryError } from '../errors.js';
import type { Checkpoint } from '../schemas.js';
import { FileAppender } from './file-appender.js';
import { numberedFilename } from './filename.js';
import type { ConflictPolicy, PartWriter, Storage, StoredFile, StoredPart } from './storage.js';

/** Part files live beside the published ones so that publishing is a same-filesystem link or rename. */
export const PARTS_DIRNAME = '.parts';
const PART_SUFFIX = '.part';
const MAX_NAME_COLLISIONS = 10_000;
const READ_BUFFER_BYTES = 1024 * 1024;

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
  readonly #opening: Promise<FileHandle>;
  readonly #appender: FileAppender;
  #closing: Promise<void> | undefined;

  constructor(
    private readonly root: string,
    private readonly partPath: string,
  ) {
    this.#opening = open(partPath, 'wx', 0o644);
    // An open that fails is reported by the first write or by closing; it must not crash the worker meanwhile.
    this.#opening.catch(() => undefined);
    this.#appender = new FileAppender(this.#opening);
  }

  get name(): string {
    return path.basename(this.partPath);
  }

  get failure(): Error | undefined {
    return this.#appender.failure;
  }

  write(chunk: Buffer): boolean {
    return this.#appender.append(chunk);
  }

  drained(signal?: AbortSignal): Promise<void> {
    return this.#appender.drained(signal);
  }

  flush(): Promise<void> {
    return this.#appender.flush();
  }

  bytesWritten(): number {
    return this.#appender.bytesWritten();
  }

  async commit(filename: string, policy: ConflictPolicy): Promise<StoredFile> {
    await this.#close(true);
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
    await this.#close(true);
    return this.bytesWritten();
  }

  async discard(): Promise<void> {
    // The file may still be opening: unlinking before that could run before the file even exists.
    await this.#close(false).catch(() => undefined);
    await unlink(this.partPath).catch(ignoreMissing);
  }

  /**
   * Closes the part once, whoever asks first. Keeping writes what is queued and
   * fsyncs, so the bytes are durable once it returns; throws what stopped the writes.
   */
  async #close(keeping: boolean): Promise<void> {
    this.#closing ??= (async () => {
      await (keeping ? this.#appender.flush() : this.#appender.settle());
      const handle = await this.#opening;
      try {
        if (keeping && this.#appender.failure === undefined) await handle.sync();
      } finally {
        await handle.close();
      }
    })();
    await this.#closing;
    if (this.#appender.failure !== undefined) throw this.#appender.failure;
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
        for await (const chunk of createReadStream(previous, { start: 0, end: checkpoint.bytes - 1, highWaterMark: READ_BUFFER_BYTES })) {
          onPrefix(chunk as Buffer);
          if (!part.write(chunk as Buffer)) await part.drained();
        }
        await part.flush();
        if (part.failure !== undefined) throw part.failure;
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
