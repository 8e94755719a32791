import type { Readable } from 'node:stream';
import { FerryError, MAX_SEGMENTS, type DownloadRequest } from '@ferry/contract';
import type { Checkpoint, ConflictPolicy, OffsetPartWriter, PartOptions, PartWriter, PublishTarget, Storage } from '@ferry/storage';
import { chooseFilename } from './naming/choose-filename.js';
import type { StoredDownload, WorkerProgress } from './progress.js';
import { parseContentRange, type ContentRange } from './content-range.js';
import { Digests } from './digests.js';
import { SaveableDigests } from './saveable-digests.js';
import {
  contentLengthOf,
  contentTypeOf,
  headerValue,
  openResponse,
  type HttpAgents,
  type OpenedResponse,
  type OutgoingHeaders,
  type RequestOptions,
} from './http-client.js';
import type { Timeouts } from './timeouts.js';
import { toFerryError, type DownloadPhase } from './to-ferry-error.js';
import { gapsOf, openGaps, pumpGaps, pumpSegments, segmentPlan, type OpenRange, type OpenedGap, type SegmentPlan } from './segments.js';
import { releaseAll, takeOnce, type ConnectionSlot, type TakeConnections } from './connection-slots.js';
import { validatorOf } from './validator.js';

/** Progress is reported at most this often, so a fast download cannot flood Redis. */
export const PROGRESS_INTERVAL_MS = 250;

/** Everything one download needs besides its request. */
export interface DownloadContext {
  /** Names the part file, so a later attempt of the same job finds the bytes this one kept. */
  readonly jobId: string;
  /** Which attempt this is, the first being 1; it goes into the log lines. */
  readonly attempt: number;
  /** Aborts the download; a FerryError as its reason is the error the attempt ends in (paused, cancelled). */
  readonly signal: AbortSignal;
  /** The egress-guarded HTTP agents every request and redirect goes through. */
  readonly agents: HttpAgents;
  /** The limits for this download (see resolveTimeouts). */
  readonly timeouts: Timeouts;
  /** Where the part is written and the file published. */
  readonly storage: Storage;
  /** Whose file it is: the storage namespace it is published in (the API key's name). */
  readonly namespace: string;
  /**
   * Server-wide cap on a file's size in bytes; the request's `maxBytes` can only lower it.
   * @defaultValue no cap beyond the request's own
   */
  readonly maxBytes?: number | undefined;
  /**
   * Conflict policy when the request names none.
   * @defaultValue `'rename'`
   */
  readonly onConflict?: ConflictPolicy;
  /**
   * Where an earlier attempt stopped, if it left resumable bytes.
   * @defaultValue none: the download starts at the first byte
   */
  readonly resumeFrom?: Checkpoint | undefined;
  /**
   * Told the bytes received so far (and, once there are resumable bytes, the checkpoint) as the body arrives.
   * @defaultValue none
   */
  readonly onProgress?: (progress: WorkerProgress) => void;
  /**
   * Called just before publishing; throws if this worker no longer owns the job (its lock lapsed).
   * @defaultValue none: the file is published without asking
   */
  readonly assertOwnership?: () => Promise<void>;
  /**
   * For bench/ alone, to measure what hashing costs: skips the sha256 of the
   * content (the result's `sha256` is then empty). A checksum the request asked
   * for is still computed and checked. Workers never set it.
   * @defaultValue `false`
   */
  readonly skipSha256?: boolean;
  /**
   * The most connections per download (FERRY_SEGMENTS), and the number used when the request
   * names none; a request's `segments` can only lower it. 1 is one connection.
   * @defaultValue 1
   */
  readonly segments?: number;
  /**
   * The smallest file fetched in segments (FERRY_SEGMENT_MIN_BYTES).
   * @defaultValue DEFAULT_SEGMENT_MIN_BYTES
   */
  readonly segmentMinBytes?: number;
  /**
   * How long the first connection of a file that can be segmented is watched before it is split
   * (FERRY_SEGMENT_PROBE_MS).
   * @defaultValue DEFAULT_SEGMENT_PROBE_MS
   */
  readonly segmentProbeMs?: number;
  /**
   * The speed (bytes per second) below which the first connection counts as the bottleneck, and the
   * rest of the file is split among more (FERRY_SEGMENT_SPLIT_BELOW_BYTES_PER_SECOND).
   * @defaultValue DEFAULT_SEGMENT_SPLIT_BELOW_BYTES_PER_SECOND
   */
  readonly segmentSplitBelowBytesPerSecond?: number;
  /**
   * Grants the connections beyond the first that segments need (the worker takes them from the
   * fleet's per-host slots); a segment not granted one is not opened.
   * @defaultValue every connection asked for is granted
   */
  readonly takeConnections?: TakeConnections;
}

/**
 * The workers' connections per download (FERRY_SEGMENTS); the engine alone defaults to one. From an
 * origin limiting each connection to 20 MB/s, 4 made 0.90-0.93 x 4 x 20 MB/s (bench/README.md).
 */
export const DEFAULT_SEGMENTS = 4;

/**
 * Below this, a limited connection saves little time (16 MiB at 20 MB/s takes 0.8 s, a third of it in
 * the probe) and the extra round trips and the read-back hash cost most in relative terms.
 */
export const DEFAULT_SEGMENT_MIN_BYTES = 64 * 1024 * 1024;

/** Long enough for a loopback or LAN connection to show its speed, short enough that a slow one is split early. */
export const DEFAULT_SEGMENT_PROBE_MS = 250;

/**
 * A first connection slower than this is split. Four connections cost this machine 1.1-1.35 x the CPU of one
 * (bench/README.md), and one unlimited connection made about 300 MB/s: below 50 MB/s, four of them still leave the
 * CPU room; above it, one connection is already close to what the machine can hash and write.
 */
export const DEFAULT_SEGMENT_SPLIT_BELOW_BYTES_PER_SECOND = 50_000_000;

type ContentDigests = Digests | SaveableDigests;

/** node:crypto, or hash-wasm whose state a part can save, for storage that cannot read its kept bytes back. */
async function digestsFor(request: DownloadRequest, ctx: DownloadContext): Promise<ContentDigests> {
  const options = { sha256: ctx.skipSha256 !== true };
  if (ctx.storage.resumesFromSavedDigests === true) return SaveableDigests.start(request.checksum?.algorithm, options);
  return new Digests(request.checksum?.algorithm, options);
}

/** Digests to resume with: fresh ones that resumePart feeds the kept prefix, or the state the checkpoint saved (undefined if unusable). */
async function resumedDigests(request: DownloadRequest, ctx: DownloadContext, checkpoint: Checkpoint): Promise<ContentDigests | undefined> {
  if (ctx.storage.resumesFromSavedDigests !== true) return digestsFor(request, ctx);
  if (checkpoint.digests === undefined) return undefined;
  return SaveableDigests.resume(request.checksum?.algorithm, checkpoint.digests, { sha256: ctx.skipSha256 !== true });
}

/** Where the file will be published: known once the response's headers are, so storage can upload straight there. */
function publishTargetFor(request: DownloadRequest, ctx: DownloadContext, response: OpenedResponse): PublishTarget {
  const contentType = contentTypeOf(response);
  const filename = chooseFilename({
    requested: request.filename,
    contentDisposition: headerValue(response.headers, 'content-disposition'),
    contentType,
    finalUrl: response.url,
    requestUrl: request.url,
    jobId: ctx.jobId,
  });
  return { namespace: ctx.namespace, filename, policy: request.onConflict ?? ctx.onConflict ?? 'rename', contentType: contentType ?? undefined };
}

function partOptionsFor(target: PublishTarget, digests: ContentDigests): PartOptions {
  return digests instanceof SaveableDigests ? { target, saveDigests: () => digests.save() } : { target };
}

function tooLarge(limit: number, what: string): FerryError {
  return new FerryError('FERRY_ERR_TOO_LARGE', `${what} exceeds the limit of ${limit} bytes`, { data: { maxBytes: limit } });
}

/**
 * Copies the body into the part. Unlike stream.pipeline it leaves the part open
 * when the body fails, so the bytes it has buffered can still be kept for a resume.
 * A storage failure is returned rather than thrown, so the caller can tell the two apart.
 */
async function pump(body: Readable, part: PartWriter, signal: AbortSignal, onChunk: (chunk: Buffer) => void): Promise<{ storageError?: Error }> {
  for await (const chunk of body) {
    onChunk(chunk as Buffer);
    // A failed part refuses every write, so the slow path is where a failure shows.
    if (!part.write(chunk as Buffer)) {
      await part.drained(signal);
      if (part.failure !== undefined) break;
    }
  }
  await part.flush();
  return part.failure === undefined ? {} : { storageError: part.failure };
}

/**
 * aria2's --lowest-speed-limit: every window, the bytes that arrived in it must
 * average at least the limit, or the attempt is aborted. Returns the stopper.
 */
function watchLowSpeed(timeouts: Timeouts, received: () => number, abort: AbortController): () => void {
  const { lowSpeedBytesPerSecond: limit, lowSpeedWindowMs: windowMs } = timeouts;
  if (limit <= 0) return () => undefined;
  let atWindowStart = received();
  const timer = setInterval(() => {
    const speed = ((received() - atWindowStart) * 1000) / windowMs;
    atWindowStart = received();
    if (speed < limit) {
      abort.abort(
        new FerryError('FERRY_ERR_TOO_SLOW', `the origin sent ${Math.round(speed)} bytes/s over the last ${windowMs} ms, below the limit of ${limit} bytes/s`, {
          data: { bytesPerSecond: Math.round(speed), limit, windowMs },
        }),
      );
    }
  }, windowMs);
  return () => clearInterval(timer);
}

interface Transfer {
  readonly response: OpenedResponse;
  readonly part: PartWriter;
  readonly digests: ContentDigests;
  /** Bytes already in the part before this response's body. */
  readonly offset: number;
  /** The complete size, when the origin said. */
  readonly totalBytes: number | null;
  /** Where the file is published: chosen once, as the part opens, and committed to. */
  readonly target: PublishTarget;
  /** Set when the file may be split: it goes into an offset part (`part` is that part), over more connections if the first proves slow. */
  readonly segmented?: { readonly plan: SegmentPlan; readonly part: OffsetPartWriter };
  /** Set when a segmented attempt's kept runs are resumed: the gaps between them, each opened and checked. */
  readonly gaps?: { readonly part: OffsetPartWriter; readonly opened: readonly OpenedGap[]; readonly slots: readonly ConnectionSlot[] };
}

function outgoingHeaders(request: DownloadRequest): OutgoingHeaders {
  return { caller: request.headers ?? {}, crossOrigin: request.crossOriginHeaders };
}

/** Bounded ranged GETs of `request.url`, each under its own signal, sent only if `validator` still holds. */
function rangeOpener(request: DownloadRequest, http: RequestOptions, validator: string): OpenRange {
  return (first, last, signal) =>
    openResponse(request.url, { ...outgoingHeaders(request), engine: { range: `bytes=${first}-${last}`, 'if-range': validator } }, { ...http, signal });
}

/**
 * Resumes a segmented attempt's kept runs: every gap between them is asked for
 * at once, and only if each answer is exactly its range of the kept version are
 * the runs copied into this attempt's part. Undefined otherwise (every answer
 * closed): the caller then resumes the prefix from 0 alone, or starts over.
 */
async function resumeGaps(request: DownloadRequest, ctx: DownloadContext, http: RequestOptions, checkpoint: Checkpoint): Promise<Transfer | undefined> {
  const size = checkpoint.totalBytes;
  if (checkpoint.segments === undefined || size === undefined || size === null) return undefined;
  if (ctx.storage.resumeOffsetPart === undefined || ctx.storage.resumesFromSavedDigests === true) return undefined;
  const gaps = gapsOf(checkpoint.segments, size);
  if (gaps.length === 0 || gaps.length > MAX_SEGMENTS) return undefined;
  // Every gap at once or none: without a connection for each, the prefix from 0 is resumed alone.
  const slots = await takeOnce(ctx.takeConnections, gaps.length - 1, http.signal);
  if (slots.length < gaps.length - 1) {
    releaseAll(slots);
    return undefined;
  }
  const opened = await openGaps(gaps, { size, validator: checkpoint.validator }, rangeOpener(request, http, checkpoint.validator), http.signal, slots).catch(
    (err: unknown) => {
      releaseAll(slots);
      throw err;
    },
  );
  const closeAll = () => {
    opened?.forEach((gap) => gap.response.body.destroy());
    releaseAll(slots);
  };
  if (opened === undefined) {
    closeAll();
    return undefined;
  }
  const response = opened[0]!.response;
  const digests = await digestsFor(request, ctx);
  const target = publishTargetFor(request, ctx, response);
  const part = await ctx.storage
    .resumeOffsetPart(ctx.jobId, ctx.attempt, checkpoint, { ...partOptionsFor(target, digests), signal: http.signal })
    .catch((err: unknown) => {
      closeAll();
      throw err;
    });
  if (part === undefined) {
    closeAll();
    return undefined;
  }
  const missing = gaps.reduce((sum, gap) => sum + gap.last - gap.first + 1, 0);
  return { response, part, digests, offset: size - missing, totalBytes: size, target, gaps: { part, opened, slots } };
}

/**
 * The Content-Range of a 206 that continues the checkpoint's bytes, or undefined
 * when the bytes it carries may belong to another version (RFC 9110 §14.4,
 * §13.1.5): it must start where the kept bytes end, carry the very validator they
 * were fetched under, and, when both are known, name the same complete length.
 * An origin that ignores If-Range answers 206 for a changed file too, so the 206
 * status alone proves nothing; a 206 without a validator proves nothing either.
 */
function continuationOf(response: OpenedResponse, checkpoint: Checkpoint): ContentRange | undefined {
  if (response.statusCode !== 206 || validatorOf(response) !== checkpoint.validator) return undefined;
  const range = parseContentRange(headerValue(response.headers, 'content-range'));
  if (range?.first !== checkpoint.bytes) return undefined;
  const keptOf = checkpoint.totalBytes ?? null;
  if (keptOf !== null && range.complete !== null && range.complete !== keptOf) return undefined;
  return range;
}

/**
 * Opens the response, resuming from a checkpoint when the origin agrees (see
 * continuationOf); any other answer starts from zero, so bytes of two versions
 * of a resource are never spliced together. The kept part is copied only once
 * the origin agreed: if the ranged request itself fails, the checkpoint and its
 * part stay as they were for the next attempt.
 */
async function startTransfer(request: DownloadRequest, ctx: DownloadContext, http: RequestOptions): Promise<Transfer> {
  const headers = outgoingHeaders(request);
  const checkpoint = ctx.resumeFrom;
  const resumed = checkpoint === undefined ? undefined : await resumeGaps(request, ctx, http, checkpoint);
  if (resumed !== undefined) return resumed;
  if (checkpoint !== undefined && checkpoint.bytes > 0) {
    const ranged = { ...headers, engine: { range: `bytes=${checkpoint.bytes}-`, 'if-range': checkpoint.validator } };
    const response = await openResponse(request.url, ranged, http).catch((err: unknown) => {
      // 416: the resource is now shorter than what we kept, so it changed; start over below.
      if (err instanceof FerryError && err.data['status'] === 416) return undefined;
      throw err;
    });
    const range = response === undefined ? undefined : continuationOf(response, checkpoint);
    if (response !== undefined && range !== undefined) {
      const digests = await resumedDigests(request, ctx, checkpoint);
      const target = publishTargetFor(request, ctx, response);
      const part =
        digests === undefined
          ? undefined
          : await ctx.storage
              .resumePart(ctx.jobId, ctx.attempt, checkpoint, (chunk) => digests.update(chunk), {
                ...partOptionsFor(target, digests),
                signal: http.signal,
              })
              .catch(async (err: unknown) => {
                await response.body.dump();
                throw err;
              });
      if (part !== undefined && digests !== undefined) return { response, part, digests, offset: checkpoint.bytes, totalBytes: range.complete, target };
    }
    // The kept bytes are of a version the origin no longer serves (or will not serve in part), or are gone or too short.
    await ctx.storage.removePart(checkpoint.part);
    // They no longer count, and no later attempt may look for them.
    ctx.onProgress?.({ receivedBytes: 0, totalBytes: null });
    // 200: the origin ignored the range, or the resource changed (If-Range): this body is the whole new version.
    if (response?.statusCode === 200) return fresh(request, ctx, response, await digestsFor(request, ctx));
    await response?.body.dump();
  }
  return fresh(request, ctx, await openResponse(request.url, headers, http), await digestsFor(request, ctx));
}

async function fresh(request: DownloadRequest, ctx: DownloadContext, response: OpenedResponse, digests: ContentDigests): Promise<Transfer> {
  if (response.statusCode === 206) {
    await response.body.dump();
    throw new FerryError('FERRY_ERR_ORIGIN_REJECTED', `origin answered 206 Partial Content to a request for the whole of ${response.url}`);
  }
  const target = publishTargetFor(request, ctx, response);
  const options = partOptionsFor(target, digests);
  const openOffsetPart = ctx.storage.openOffsetPart?.bind(ctx.storage);
  // Saved hash states follow one stream of bytes in file order: segments need a backend that reads its part back.
  const plan =
    ctx.storage.resumesFromSavedDigests === true || openOffsetPart === undefined
      ? undefined
      : segmentPlan(response, Math.min(request.segments ?? Infinity, ctx.segments ?? 1), ctx.segmentMinBytes ?? DEFAULT_SEGMENT_MIN_BYTES);
  const opening =
    plan === undefined || openOffsetPart === undefined
      ? ctx.storage.openPart(ctx.jobId, ctx.attempt, options).then((part) => ({ part }))
      : openOffsetPart(ctx.jobId, ctx.attempt, plan.size, options).then((part) => ({ part, segmented: { plan, part } }));
  const opened = await opening.catch(async (err: unknown) => {
    await response.body.dump();
    throw err;
  });
  return { response, ...opened, digests, offset: 0, totalBytes: contentLengthOf(response), target };
}

/**
 * Streams one URL into storage: never buffers the body, hashes while it streams,
 * resumes from an earlier attempt's bytes when the origin allows, and publishes
 * the file only once every byte is on disk and checked.
 */
export async function downloadToStorage(request: DownloadRequest, ctx: DownloadContext): Promise<StoredDownload> {
  const { timeouts } = ctx;
  const tooSlow = new AbortController();
  const signal = AbortSignal.any([ctx.signal, tooSlow.signal]);
  const http: RequestOptions = {
    dispatcher: ctx.agents.for(timeouts.connectMs),
    policy: ctx.agents.policy,
    signal,
    headersTimeoutMs: timeouts.headersMs,
    bodyIdleTimeoutMs: timeouts.bodyIdleMs,
  };
  const limit = Math.min(request.maxBytes ?? Infinity, ctx.maxBytes ?? Infinity);
  let phase: DownloadPhase = 'request';
  let transfer: Transfer | undefined;
  let validator: string | undefined;
  try {
    transfer = await startTransfer(request, ctx, http);
    const { response, part, digests, offset, totalBytes, target, segmented, gaps } = transfer;
    validator = validatorOf(response);
    if (totalBytes !== null && totalBytes > limit) throw tooLarge(limit, `the file (${totalBytes} bytes)`);

    let received = offset;
    let lastReport = 0;
    const report = () =>
      ctx.onProgress?.({
        receivedBytes: received,
        totalBytes,
        ...(validator === undefined ? {} : { checkpoint: { ...part.resumePoint(), validator, totalBytes } }),
      });
    phase = 'body';
    const watchdog = watchLowSpeed(timeouts, () => received, tooSlow);
    const count = (bytes: number) => {
      received += bytes;
      const now = performance.now();
      if (now - lastReport >= PROGRESS_INTERVAL_MS) {
        lastReport = now;
        report();
      }
    };
    const onChunk = (chunk: Buffer) => {
      // Checked before the chunk is written: the part never grows past the limit.
      if (received + chunk.length > limit) throw tooLarge(limit, 'the body');
      digests.update(chunk);
      count(chunk.length);
    };
    const hash = (chunk: Buffer) => digests.update(chunk);
    const outcome = await (
      gaps !== undefined
        ? pumpGaps(gaps.part, gaps.opened, totalBytes ?? 0, { signal, hash, count, slots: gaps.slots })
        : segmented === undefined
          ? pump(response.body, part, signal, onChunk)
          : pumpSegments({
              ...segmented,
              body: response.body,
              signal,
              hash,
              count,
              open: rangeOpener(request, http, segmented.plan.validator),
              // This response holds the download's own connection; each other segment needs one more.
              take: (wanted) => takeOnce(ctx.takeConnections, wanted, signal),
              rule: {
                probeMs: ctx.segmentProbeMs ?? DEFAULT_SEGMENT_PROBE_MS,
                belowBytesPerSecond: ctx.segmentSplitBelowBytesPerSecond ?? DEFAULT_SEGMENT_SPLIT_BELOW_BYTES_PER_SECOND,
              },
            })
    ).finally(watchdog);
    if (outcome.storageError !== undefined) {
      phase = 'storage';
      throw outcome.storageError;
    }

    if (totalBytes !== null && received !== totalBytes) {
      throw new FerryError('FERRY_ERR_TRUNCATED', `origin promised ${totalBytes} bytes but sent ${received} (${response.url})`, {
        data: { expectedBytes: totalBytes, receivedBytes: received },
      });
    }
    const { sha256, requested } = digests.finish();
    if (request.checksum !== undefined && request.checksum.value !== requested) {
      throw new FerryError(
        'FERRY_ERR_CHECKSUM_MISMATCH',
        `${request.checksum.algorithm} of the downloaded bytes is ${requested}, the request expected ${request.checksum.value}`,
        { data: { algorithm: request.checksum.algorithm, expected: request.checksum.value, actual: requested } },
      );
    }
    ctx.onProgress?.({ receivedBytes: received, totalBytes: totalBytes ?? received });

    phase = 'storage';
    await ctx.assertOwnership?.();
    const stored = await part.commit(target);
    transfer = undefined;
    return {
      location: stored.location,
      filename: stored.filename,
      bytes: received,
      sha256,
      digest: request.checksum === undefined ? null : { algorithm: request.checksum.algorithm, value: request.checksum.value },
      contentType: contentTypeOf(response),
      etag: headerValue(response.headers, 'etag') ?? null,
      lastModified: headerValue(response.headers, 'last-modified') ?? null,
      storedVersion: stored.version,
    };
  } catch (err) {
    // An abort carries its coded reason (too slow, paused, cancelled), which toFerryError returns as it is.
    const failure = toFerryError(err, phase, request.url, signal);
    // A body left unread (a size over the limit) would hold its connection open until the idle timeout.
    transfer?.response.body.destroy();
    for (const gap of transfer?.gaps?.opened ?? []) gap.response.body.destroy();
    // Freed by the pumps as their gaps end, unless the attempt failed before they started (a size over the limit).
    releaseAll(transfer?.gaps?.slots);
    await settlePart(transfer, failure, validator, ctx);
    throw failure;
  }
}

// Storage failures free the space.
const DISCARDING_CODES = new Set(['FERRY_ERR_STORAGE_FULL', 'FERRY_ERR_STORAGE']);

/**
 * After a failed attempt: keep the part for the next attempt when the failure
 * may pass and the origin gave a validator; otherwise remove it. A worker that
 * lost its job leaves the part to the new owner, who may be continuing it.
 */
async function settlePart(transfer: Transfer | undefined, failure: FerryError, validator: string | undefined, ctx: DownloadContext): Promise<void> {
  if (transfer === undefined) return;
  const { part } = transfer;
  if (failure.code === 'FERRY_ERR_LOCK_LOST') return part.abandon().catch(() => undefined);
  const resumable = failure.retryable && validator !== undefined && !DISCARDING_CODES.has(failure.code);
  if (resumable) {
    const bytes = await part.keep().catch(() => undefined);
    if (bytes !== undefined && bytes > 0) {
      const { totalBytes } = transfer;
      ctx.onProgress?.({ receivedBytes: bytes, totalBytes, checkpoint: { ...part.resumePoint(), validator, totalBytes } });
      return;
    }
  }
  await part.discard().catch(() => undefined);
}
