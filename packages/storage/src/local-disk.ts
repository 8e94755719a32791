import { createHash } from 'node:crypto';
import { createReadStream, type BigIntStats } from 'node:fs';
import { link, mkdir, open, readdir, rename, stat, unlink, type FileHandle } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import type { Checkpoint } from './checkpoint.js';
import { FileAppender, WriteTurns } from './file-appender.js';
import { candidateNames, fileExists } from './free-name.js';
import { namespaceDirectory } from './namespace-directory.js';
import { PART_SUFFIX, partFileName } from './part-name.js';
import type {
  OffsetPartWriter,
  OpenedStoredFile,
  PartOptions,
  PartWriter,
  PublishTarget,
  ResumePoint,
  SegmentWriter,
  Storage,
  StoredFile,
  StoredFileRef,
  StoredPart,
  StoredReader,
} from './storage.js';

/** Part files live beside the published ones so that publishing is a same-filesystem link or rename. */
export const PARTS_DIRNAME = '.parts';
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

const isMissing = (err: unknown): boolean => (err as NodeJS.ErrnoException).code === 'ENOENT';

/**
 * Link and rename keep the inode, and nothing writes to a published file, so
 * inode, size and mtime name these bytes; an overwrite brings another inode.
 * The device is left out: containers mounting one volume may see it differently.
 */
const versionOf = (stats: BigIntStats): string => `${stats.ino}-${stats.size}-${stats.mtimeNs}`;

async function sha256Of(handle: FileHandle): Promise<string> {
  const hash = createHash('sha256');
  const buffer = Buffer.allocUnsafe(READ_BUFFER_BYTES);
  for (let position = 0; ;) {
    const { bytesRead } = await handle.read(buffer, 0, buffer.length, position);
    if (bytesRead === 0) return hash.digest('hex');
    hash.update(buffer.subarray(0, bytesRead));
    position += bytesRead;
  }
}

class LocalStoredReader implements StoredReader {
  #streamed = false;

  constructor(
    private readonly handle: FileHandle,
    readonly size: number,
    readonly modifiedAt: Date,
  ) {}

  stream(range?: { readonly start: number; readonly end: number }) {
    if (this.#streamed) throw new Error('a stored file is streamed once per opening');
    this.#streamed = true;
    // The stream owns the handle from here and closes it when it ends or is destroyed.
    return this.handle.createReadStream({ highWaterMark: READ_BUFFER_BYTES, ...(range ?? {}) });
  }

  async close(): Promise<void> {
    if (!this.#streamed) await this.handle.close();
  }
}

/**
 * Publishes without replacing: link(2) fails with EEXIST when the name is taken,
 * so two jobs that want the same name both keep their bytes.
 */
async function linkUnderFreeName(partPath: string, dir: string, filename: string, policy: 'rename' | 'fail'): Promise<string> {
  for (const candidate of candidateNames(filename, policy)) {
    try {
      await link(partPath, insideDir(dir, candidate));
      return candidate;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    }
  }
  throw fileExists(filename);
}

// Names are sanitized before they get here; this keeps a future bug there from writing outside the namespace.
function insideDir(dir: string, filename: string): string {
  const target = path.join(dir, filename);
  if (path.dirname(target) !== dir) throw new Error(`refusing to publish outside the namespace's directory: ${filename}`);
  return target;
}

/** Runs `copy` into the new part, then removes the earlier one; a copy that fails discards the new part (undefined if the earlier one vanished). */
async function copiedOrNone<P extends PartWriter>(part: P, previous: string, copy: () => Promise<void>): Promise<P | undefined> {
  try {
    await copy();
  } catch (err) {
    await part.discard();
    if ((err as NodeJS.ErrnoException | undefined)?.code === 'ENOENT') return undefined;
    throw err;
  }
  await unlink(previous).catch(ignoreMissing);
  return part;
}

/** Opens a new part file; with a size, one of that length (sparse), for segments written at offsets. */
async function openPartFile(partPath: string, size: number | undefined): Promise<FileHandle> {
  // A part of known size is written in segments and read back to hash them: read-write.
  const handle = await open(partPath, size === undefined ? 'wx' : 'wx+', 0o644);
  if (size === undefined) return handle;
  try {
    await handle.truncate(size);
    return handle;
  } catch (err) {
    await handle.close();
    throw err;
  }
}

class LocalPartWriter implements OffsetPartWriter {
  readonly #opening: Promise<FileHandle>;
  readonly #appender: FileAppender;
  /** Segments written at offsets besides the one at 0, by offset. */
  readonly #segments = new Map<number, FileAppender>();
  readonly #turns = new WriteTurns();
  /** Runs copied from an earlier attempt's part, by where they end: a segment asked for there continues one. */
  readonly #copiedRuns = new Map<number, FileAppender>();
  #closing: Promise<void> | undefined;
  #version: string | undefined;

  constructor(
    private readonly storage: LocalDiskStorage,
    private readonly partPath: string,
    private readonly size?: number,
  ) {
    this.#opening = openPartFile(partPath, size);
    // An open that fails is reported by the first write or by closing; it must not crash the worker meanwhile.
    this.#opening.catch(() => undefined);
    this.#appender = new FileAppender(this.#opening, 0, size === undefined ? undefined : this.#turns);
  }

  segment(offset: number): SegmentWriter {
    const appender = this.#copiedRuns.get(offset) ?? this.#newSegment(offset);
    this.#copiedRuns.delete(offset);
    return {
      write: (chunk) => appender.append(chunk),
      drained: (signal) => appender.drained(signal),
      flush: () => appender.flush(),
      get failure() {
        return appender.failure;
      },
      bytesWritten: () => appender.bytesWritten(),
    };
  }

  #newSegment(offset: number): FileAppender {
    if (offset <= 0 || this.#segments.has(offset)) throw new Error(`a segment at offset ${offset} is already written`);
    const appender = new FileAppender(this.#opening, offset, this.#turns);
    this.#segments.set(offset, appender);
    return appender;
  }

  /**
   * Copies `bytes` (at least one) from `first` of an earlier part into this one, as a run a later
   * `segment(first + bytes)` continues; `onChunk` sees each chunk copied.
   */
  async copyRun(source: string, first: number, bytes: number, signal: AbortSignal | undefined, onChunk?: (chunk: Buffer) => void): Promise<void> {
    const appender = first === 0 ? this.#appender : this.#newSegment(first);
    for await (const chunk of createReadStream(source, { start: first, end: first + bytes - 1, highWaterMark: READ_BUFFER_BYTES })) {
      // A pause or cancel need not wait for a large run to be copied whole, and rejects with its own reason.
      signal?.throwIfAborted();
      onChunk?.(chunk as Buffer);
      if (!appender.append(chunk as Buffer)) await appender.drained(signal);
    }
    await appender.flush();
    if (appender.failure !== undefined) throw appender.failure;
    this.#copiedRuns.set(first + bytes, appender);
  }

  /**
   * One buffer, reused for every read once `onChunk` returned: a read stream allocated a MiB per
   * read, and read back that way the other segments of a 1 GiB file cost a fifth of the download's CPU
   * (its allocations and their garbage collection, bench/README.md).
   */
  async readBack(start: number, end: number, onChunk: (chunk: Buffer) => void, signal?: AbortSignal): Promise<void> {
    if (end <= start) return;
    const handle = await this.#opening;
    const buffer = Buffer.allocUnsafe(Math.min(READ_BUFFER_BYTES, end - start));
    for (let at = start; at < end;) {
      signal?.throwIfAborted();
      const { bytesRead } = await handle.read(buffer, 0, Math.min(buffer.length, end - at), at);
      if (bytesRead === 0) throw new Error(`the part ends at byte ${at}, before byte ${end}`);
      onChunk(buffer.subarray(0, bytesRead));
      at += bytesRead;
    }
  }

  get name(): string {
    return path.basename(this.partPath);
  }

  // Read for every chunk of segment 0 (a sibling's failure stops it too): no array per call.
  get failure(): Error | undefined {
    if (this.#appender.failure !== undefined) return this.#appender.failure;
    for (const segment of this.#segments.values()) if (segment.failure !== undefined) return segment.failure;
    return undefined;
  }

  write(chunk: Buffer): boolean {
    return this.#appender.append(chunk);
  }

  drained(signal?: AbortSignal): Promise<void> {
    return this.#appender.drained(signal);
  }

  async flush(): Promise<void> {
    await Promise.all([this.#appender, ...this.#segments.values()].map((appender) => appender.flush()));
  }

  bytesWritten(): number {
    let prefix = this.#appender.bytesWritten();
    for (const [offset, segment] of [...this.#segments].sort(([a], [b]) => a - b)) {
      if (offset > prefix) break;
      prefix = Math.max(prefix, offset + segment.bytesWritten());
    }
    return prefix;
  }

  resumePoint(): ResumePoint {
    if (this.size === undefined) return { part: this.name, bytes: this.bytesWritten() };
    const runs = [
      { first: 0, bytes: this.#appender.bytesWritten() },
      ...[...this.#segments].map(([first, segment]) => ({ first, bytes: segment.bytesWritten() })),
    ];
    return { part: this.name, bytes: this.bytesWritten(), segments: runs.filter((run) => run.bytes > 0) };
  }

  async commit({ namespace, filename, policy }: PublishTarget): Promise<StoredFile> {
    await this.#close(true);
    const version = this.#version;
    if (version === undefined) throw new Error('a part is versioned when it is closed for keeping');
    const published = await this.storage.inNamespace(namespace, async (dir) => {
      if (policy !== 'overwrite') return linkUnderFreeName(this.partPath, dir, filename, policy);
      await rename(this.partPath, insideDir(dir, filename));
      return filename;
    });
    if (policy !== 'overwrite') await unlink(this.partPath);
    const dir = this.storage.directoryOf(namespace);
    await fsyncDirectory(dir);
    return { location: pathToFileURL(path.join(dir, published)).href, filename: published, version };
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

  async abandon(): Promise<void> {
    // The new owner copies the prefix it needs into a part of its own, then removes this one.
    await this.#close(false).catch(() => undefined);
  }

  /**
   * Closes the part once, whoever asks first. Keeping writes what is queued and
   * fsyncs, so the bytes are durable once it returns; throws what stopped the writes.
   */
  async #close(keeping: boolean): Promise<void> {
    this.#closing ??= (async () => {
      const appenders = [this.#appender, ...this.#segments.values()];
      await Promise.all(appenders.map((appender) => (keeping ? appender.flush() : appender.settle())));
      const handle = await this.#opening;
      try {
        if (keeping && this.failure === undefined) {
          await handle.sync();
          this.#version = versionOf(await handle.stat({ bigint: true }));
        }
      } finally {
        await handle.close();
      }
    })();
    await this.#closing;
    if (this.failure !== undefined) throw this.failure;
  }
}

/**
 * Files on one local (or network) disk: `<root>/<namespace>/<name>`, with each
 * namespace's directory named by `namespaceDirectory`, and parts in `<root>/.parts`
 * (no namespace directory is named with a leading dot).
 */
export class LocalDiskStorage implements Storage {
  readonly root: string;
  readonly partsDir: string;
  // Directories this process made or found, so a download costs no mkdir; one removed since is made again.
  readonly #madeDirs = new Set<string>();

  constructor(root: string) {
    this.root = path.resolve(root);
    this.partsDir = path.join(this.root, PARTS_DIRNAME);
  }

  directoryOf(namespace: string): string {
    return path.join(this.root, namespaceDirectory(namespace));
  }

  /** Runs `publish` in the namespace's directory, making the directory first if it is not there. */
  async inNamespace<T>(namespace: string, publish: (dir: string) => Promise<T>): Promise<T> {
    const dir = this.directoryOf(namespace);
    if (this.#madeDirs.has(dir)) {
      try {
        return await publish(dir);
      } catch (err) {
        if (!isMissing(err)) throw err;
        this.#madeDirs.delete(dir);
      }
    }
    await this.#makeDir(dir);
    return publish(dir);
  }

  async #makeDir(dir: string): Promise<void> {
    const made = await mkdir(dir, { recursive: true });
    // A new directory's own entry must be durable before a file published in it is called stored.
    if (made !== undefined) await fsyncDirectory(path.dirname(dir));
    this.#madeDirs.add(dir);
  }

  async openPart(jobId: string, attempt: number): Promise<LocalPartWriter> {
    if (!this.#madeDirs.has(this.partsDir)) await this.#makeDir(this.partsDir);
    return new LocalPartWriter(this, path.join(this.partsDir, partFileName(jobId, attempt)));
  }

  /** A sparse part file of `size` bytes; resumePart continues its contiguous prefix like any part's. */
  async openOffsetPart(jobId: string, attempt: number, size: number): Promise<OffsetPartWriter> {
    if (!this.#madeDirs.has(this.partsDir)) await this.#makeDir(this.partsDir);
    return new LocalPartWriter(this, path.join(this.partsDir, partFileName(jobId, attempt)), size);
  }

  /** Like resumePart, for the runs of a part written in segments. */
  async resumeOffsetPart(jobId: string, attempt: number, checkpoint: Checkpoint, options?: PartOptions): Promise<OffsetPartWriter | undefined> {
    const signal = options?.signal;
    signal?.throwIfAborted();
    const { segments, totalBytes } = checkpoint;
    if (segments === undefined || totalBytes === undefined || totalBytes === null) return undefined;
    const previous = await this.#previousPart(checkpoint);
    if (previous?.size !== totalBytes || segments.some((run) => run.first + run.bytes > totalBytes)) return undefined;
    if (!this.#madeDirs.has(this.partsDir)) await this.#makeDir(this.partsDir);
    const part = new LocalPartWriter(this, path.join(this.partsDir, partFileName(jobId, attempt)), totalBytes);
    return copiedOrNone(part, previous.path, async () => {
      for (const run of segments.filter((r) => r.bytes > 0)) await part.copyRun(previous.path, run.first, run.bytes, signal);
    });
  }

  /** The earlier part a checkpoint names, if it is one of this storage's part files and still there. */
  async #previousPart(checkpoint: Checkpoint): Promise<{ path: string; size: number } | undefined> {
    if (path.basename(checkpoint.part) !== checkpoint.part || !checkpoint.part.endsWith(PART_SUFFIX)) return undefined;
    const previous = path.join(this.partsDir, checkpoint.part);
    return stat(previous).then(
      (s) => ({ path: previous, size: s.size }),
      () => undefined,
    );
  }

  /**
   * Copies the kept prefix into a new part rather than appending to the old one:
   * a worker that lost its lock may still hold the old file open, and whatever it
   * writes then lands in a file nobody will publish.
   */
  async resumePart(
    jobId: string,
    attempt: number,
    checkpoint: Checkpoint,
    onPrefix: (chunk: Buffer) => void,
    options?: PartOptions,
  ): Promise<PartWriter | undefined> {
    const signal = options?.signal;
    signal?.throwIfAborted();
    const kept = await this.#previousPart(checkpoint);
    if (kept === undefined || kept.size < checkpoint.bytes) return undefined;
    const part = await this.openPart(jobId, attempt);
    return copiedOrNone(part, kept.path, async () => {
      if (checkpoint.bytes > 0) await part.copyRun(kept.path, 0, checkpoint.bytes, signal, onPrefix);
    });
  }

  async listParts(): Promise<StoredPart[]> {
    const names = await readdir(this.partsDir).catch((err: NodeJS.ErrnoException) => {
      if (err.code === 'ENOENT') return [];
      throw err;
    });
    const parts: StoredPart[] = [];
    for (const name of names.filter((n) => n.endsWith(PART_SUFFIX))) {
      const modifiedAt = await stat(path.join(this.partsDir, name)).then(
        (s) => s.mtimeMs,
        () => undefined,
      );
      if (modifiedAt !== undefined) parts.push({ name, jobId: name.slice(0, name.indexOf('.')), modifiedAt });
    }
    return parts;
  }

  async removePart(name: string): Promise<void> {
    if (path.basename(name) !== name) throw new Error(`not a part file name: ${name}`);
    await unlink(path.join(this.partsDir, name)).catch(ignoreMissing);
  }

  /**
   * Opens the file and checks the open handle, so the bytes served are the ones
   * checked even if the name is replaced meanwhile. A version that differs (or a
   * file from before versions) is proven by its sha256 instead.
   */
  async openStored(ref: StoredFileRef): Promise<OpenedStoredFile> {
    let file: string;
    try {
      file = fileURLToPath(ref.location);
    } catch {
      return { found: false, why: 'missing' };
    }
    const dir = path.dirname(file);
    // Files published before namespaces sit in the root; their sha256 proves them.
    if (dir !== this.directoryOf(ref.namespace) && !(dir === this.root && ref.version === undefined)) return { found: false, why: 'missing' };
    const handle = await open(file, 'r').catch((err: unknown) => {
      if (isMissing(err)) return undefined;
      throw err;
    });
    if (handle === undefined) return { found: false, why: 'missing' };
    try {
      const stats = await handle.stat({ bigint: true });
      const same = stats.isFile() && (versionOf(stats) === ref.version || (await sha256Of(handle)) === ref.sha256);
      if (same) return { found: true, reader: new LocalStoredReader(handle, Number(stats.size), stats.mtime) };
      await handle.close();
      return { found: false, why: stats.isFile() ? 'replaced' : 'missing' };
    } catch (err) {
      await handle.close().catch(() => undefined);
      throw err;
    }
  }
}
