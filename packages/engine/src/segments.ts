import type { Readable } from 'node:stream';
import { FerryError, MAX_SEGMENTS } from '@ferry/contract';
import type { OffsetPartWriter, SegmentWriter } from '@ferry/storage';
import { releaseAll, type ConnectionSlot } from './connection-slots.js';
import { parseContentRange } from './content-range.js';
import { contentLengthOf, headerValue, type OpenedResponse } from './http-client.js';
import { validatorOf } from './validator.js';

/** A file that may be fetched over up to `count` connections, all of one version. */
export interface SegmentPlan {
  readonly count: number;
  readonly size: number;
  readonly validator: string;
}

/**
 * Segments for a first response that can take them: a 200 with a length of at
 * least `minBytes`, `Accept-Ranges: bytes`, no content coding, and a strong
 * validator, so every ranged response can be proven to be of the same version.
 */
export function segmentPlan(response: OpenedResponse, wanted: number, minBytes: number): SegmentPlan | undefined {
  const size = contentLengthOf(response);
  const validator = validatorOf(response);
  const acceptsRanges = headerValue(response.headers, 'accept-ranges')?.trim().toLowerCase() === 'bytes';
  const coding = headerValue(response.headers, 'content-encoding')?.trim().toLowerCase() ?? 'identity';
  const count = Math.min(Math.floor(wanted), MAX_SEGMENTS, size ?? 0);
  if (response.statusCode !== 200 || size === null || size < minBytes || count < 2 || !acceptsRanges || coding !== 'identity' || validator === undefined) {
    return undefined;
  }
  return { count, size, validator };
}

/** When the first connection is split: how long it is watched, and the speed below which it counts as the bottleneck. */
export interface SplitRule {
  readonly probeMs: number;
  readonly belowBytesPerSecond: number;
}

/** The bytes from `from` to the file's end, cut in ranges of `length` (the last one shorter), one per connection; segment 0 keeps the first. */
interface Split {
  readonly from: number;
  readonly length: number;
}

/** Opens `Range: bytes=first-last` with If-Range, under its own signal. */
export type OpenRange = (first: number, last: number, signal: AbortSignal) => Promise<OpenedResponse>;

export interface SegmentedTransfer {
  readonly plan: SegmentPlan;
  readonly part: OffsetPartWriter;
  /** The first response's body: segment 0, or the whole file when the origin does not cooperate. */
  readonly body: Readable;
  readonly signal: AbortSignal;
  readonly open: OpenRange;
  /** Asks for up to `wanted` more connections, once the first proved too slow; each is released as its segment ends. */
  readonly take: (wanted: number) => Promise<readonly ConnectionSlot[]>;
  readonly rule: SplitRule;
  /** Takes the file's bytes in order: segment 0's as they stream, the others' read back once all are written. */
  readonly hash: (chunk: Buffer) => void;
  /** Counts bytes received (progress, the low-speed check); never more than the file's size in all. */
  readonly count: (bytes: number) => void;
}

/**
 * True when a ranged response carries exactly `first`–`last` of the version the
 * plan was made from (RFC 9110 §14.4): 206, the same validator (an origin that
 * ignores If-Range may answer 206 for a changed file), the very range asked for
 * and the same complete length.
 */
function isSegment(response: OpenedResponse, plan: Pick<SegmentPlan, 'size' | 'validator'>, first: number, last: number): boolean {
  if (response.statusCode !== 206 || validatorOf(response) !== plan.validator) return false;
  const range = parseContentRange(headerValue(response.headers, 'content-range'));
  const length = contentLengthOf(response);
  return range?.first === first && range.last === last && range.complete === plan.size && (length === null || length === last - first + 1);
}

function truncated(first: number, expected: number, received: number): FerryError {
  return new FerryError('FERRY_ERR_TRUNCATED', `the segment from byte ${first} should have ${expected} bytes but the origin sent ${received}`, {
    data: { expectedBytes: expected, receivedBytes: received, segmentStart: first },
  });
}

/** Copies one ranged body into its segment; a body longer or shorter than its range fails the attempt. */
async function pumpSegment(
  body: Readable,
  writer: SegmentWriter,
  first: number,
  expected: number,
  signal: AbortSignal,
  count: (bytes: number) => void,
): Promise<void> {
  let received = 0;
  for await (const chunk of body) {
    const bytes = chunk as Buffer;
    if (received + bytes.length > expected) throw truncated(first, expected, received + bytes.length);
    count(bytes.length);
    received += bytes.length;
    // Awaited only when the writer is full: an await per chunk cost a turn of the event loop for every 64 KiB.
    if (!writer.write(bytes)) await writer.drained(signal);
    if (writer.failure !== undefined) return;
  }
  if (received !== expected) throw truncated(first, expected, received);
}

async function readBackInto(
  part: OffsetPartWriter,
  start: number,
  end: number,
  hash: (chunk: Buffer) => void,
  signal: AbortSignal,
): Promise<{ storageError?: Error }> {
  const failure = await part.readBack(start, end, hash, signal).then(
    () => undefined,
    (err: Error) => {
      if (signal.aborted) throw signal.reason;
      return err;
    },
  );
  return failure === undefined ? {} : { storageError: failure };
}

/**
 * Fetches the file into an offset part, over one connection unless that one
 * proves to be the bottleneck: for `rule.probeMs` the first response's body is
 * watched, and one that makes `rule.belowBytesPerSecond` is left alone (no extra
 * connection, nothing read back), so a fast origin costs what one connection
 * costs. A slower one is split at that moment: the bytes still to come are cut
 * among it and the connections `take` grants. The extra ranges are asked for
 * while segment 0 streams, and each one that passes isSegment streams into its
 * own segment at once. Segment 0 stops at its new end only once every extra
 * response has passed. As soon as one is refused (ranges ignored, another
 * version, a wrong range, an error), every extra connection is closed, their
 * queued writes land, and segment 0 goes on over the whole file, writing every
 * byte again: the file is the first response's alone, and the waste is what the
 * extra responses had sent before they were closed.
 * Returns like pump: a storage failure as a value, anything else thrown.
 */
export async function pumpSegments(transfer: SegmentedTransfer): Promise<{ storageError?: Error }> {
  const { plan, part, signal, rule } = transfer;
  const stop = new AbortController();
  const extraSignal = AbortSignal.any([signal, stop.signal]);
  const pumps: Array<Promise<void>> = [];
  let slots: readonly ConnectionSlot[] = [];
  // What the other segments counted: after a fallback segment 0 receives those bytes again.
  let otherBytes = 0;
  const countOther = (bytes: number) => {
    otherBytes += bytes;
    transfer.count(bytes);
  };
  const refuse = (response?: OpenedResponse): false => {
    // One refusal settles it: every extra connection closes now, before it sends more.
    stop.abort();
    response?.body.destroy();
    return false;
  };
  /** Asks for every extra range of the split at once; true once each has passed isSegment and streams. */
  const openExtras = async (split: Split): Promise<boolean> => {
    const lastOf = (first: number) => Math.min(plan.size, first + split.length) - 1;
    const opened = await Promise.all(
      slots.map((slot, i) => {
        const first = split.from + (i + 1) * split.length;
        return transfer.open(first, lastOf(first), extraSignal).then(
          (response) => {
            if (stop.signal.aborted || !isSegment(response, plan, first, lastOf(first))) {
              slot.release();
              return refuse(response);
            }
            const pumping = pumpSegment(response.body, part.segment(first), first, lastOf(first) - first + 1, signal, countOther).finally(() => slot.release());
            // Awaited once segment 0 ends; until then a failure must not count as unhandled.
            pumping.catch(() => undefined);
            pumps.push(pumping);
            return true;
          },
          (err: unknown) => {
            // A 429 or 503 here tells the fleet, through the slot, though the download goes on over one connection.
            slot.release(err);
            return refuse();
          },
        );
      }),
    );
    return opened.every(Boolean);
  };
  /** The split of the bytes from `from` on, after segment 0 made `from` bytes in `elapsedMs`; undefined to go on alone. */
  const splitAt = async (from: number, elapsedMs: number): Promise<Split | undefined> => {
    const remaining = plan.size - from;
    // Alone it ends within another probe window: a split would save less than its round trips and read-back cost.
    if ((remaining * 1000) / Math.max(1, (from * 1000) / elapsedMs) <= rule.probeMs) return undefined;
    slots = await transfer.take(plan.count - 1);
    const length = Math.ceil(remaining / (slots.length + 1));
    // A few bytes left need fewer ranges than connections granted: the surplus goes back now.
    const count = Math.ceil(remaining / length);
    releaseAll(slots.slice(count - 1));
    slots = slots.slice(0, count - 1);
    return count < 2 ? undefined : { from, length };
  };
  try {
    let probing = true;
    // From the first chunk, not the headers: a stall of this process before it reads (the part opening, a busy
    // event loop) must not count against the connection; what the socket buffered meanwhile counts for it.
    let probeStart: number | undefined;
    let opening: Promise<boolean> | undefined;
    // Where segment 0 stops: the file's end, unless it is split.
    let end = plan.size;
    let written = 0;
    let recount = 0;
    let segmented = false;
    for await (const chunk of transfer.body) {
      let bytes = chunk as Buffer;
      if (probing) {
        const now = performance.now();
        probeStart ??= now;
        const elapsed = now - probeStart;
        if (elapsed >= rule.probeMs) {
          probing = false;
          const split = (written * 1000) / elapsed < rule.belowBytesPerSecond ? await splitAt(written, elapsed) : undefined;
          if (split !== undefined) {
            end = split.from + split.length;
            opening = openExtras(split);
          }
        } else if (written >= (rule.belowBytesPerSecond * rule.probeMs) / 1000) {
          // Fast enough before the window is over.
          probing = false;
        }
      }
      if (opening !== undefined && written + bytes.length >= end) {
        const head = bytes.subarray(0, end - written);
        transfer.hash(head);
        transfer.count(head.length);
        written += head.length;
        if (!part.write(head)) await part.drained(signal);
        if (part.failure !== undefined) break;
        segmented = await opening;
        opening = undefined;
        if (segmented) break;
        // The refused segments' last writes land before segment 0 writes the same bytes over them.
        await Promise.allSettled(pumps);
        await part.flush();
        recount = otherBytes;
        bytes = bytes.subarray(head.length);
      }
      transfer.hash(bytes);
      // Counted already: the total stays the file's size, and never goes down.
      const again = Math.min(recount, bytes.length);
      recount -= again;
      transfer.count(bytes.length - again);
      written += bytes.length;
      if (!part.write(bytes)) await part.drained(signal);
      if (part.failure !== undefined) break;
    }
    if (segmented && part.failure === undefined) {
      transfer.body.destroy();
      await Promise.all(pumps);
    }
    await part.flush();
    if (part.failure !== undefined) return { storageError: part.failure };
    if (!segmented) return {};
    return await readBackInto(part, end, plan.size, transfer.hash, signal);
  } finally {
    // Ranged requests still open (segment 0 failed first, or a sibling did) stop here, not at their idle timeout.
    stop.abort();
    releaseAll(slots);
  }
}

/** A byte range still to fetch, `first` to `last` inclusive. */
export interface Gap {
  readonly first: number;
  readonly last: number;
}

/** The ranges of a file of `size` bytes that no kept run covers, in order. */
export function gapsOf(runs: ReadonlyArray<{ readonly first: number; readonly bytes: number }>, size: number): Gap[] {
  const gaps: Gap[] = [];
  let at = 0;
  for (const run of [...runs].sort((a, b) => a.first - b.first)) {
    if (run.first > at) gaps.push({ first: at, last: run.first - 1 });
    at = Math.max(at, run.first + run.bytes);
  }
  if (at < size) gaps.push({ first: at, last: size - 1 });
  return gaps;
}

export interface OpenedGap extends Gap {
  readonly response: OpenedResponse;
}

/**
 * Asks for every gap at once; undefined (every response closed) unless each is
 * exactly its range of the kept version (isSegment). A pause or cancel throws.
 * `slots` carry every gap but the first; a gap's refusal is given to its slot.
 */
export async function openGaps(
  gaps: readonly Gap[],
  kept: Pick<SegmentPlan, 'size' | 'validator'>,
  open: OpenRange,
  signal: AbortSignal,
  slots: readonly ConnectionSlot[],
): Promise<OpenedGap[] | undefined> {
  const stop = new AbortController();
  const gapSignal = AbortSignal.any([signal, stop.signal]);
  const opened = await Promise.all(
    gaps.map((gap, i) =>
      open(gap.first, gap.last, gapSignal).then(
        (response): OpenedGap | undefined => {
          if (isSegment(response, kept, gap.first, gap.last)) return { ...gap, response };
          stop.abort();
          response.body.destroy();
          return undefined;
        },
        (err: unknown) => {
          slots[i - 1]?.release(err);
          stop.abort();
          return undefined;
        },
      ),
    ),
  );
  signal.throwIfAborted();
  if (opened.every((gap) => gap !== undefined)) return opened as OpenedGap[];
  stop.abort();
  return undefined;
}

/**
 * Fills the gaps into a resumed offset part, then hashes the whole file read back in order. Returns like pump.
 * `slots` carry every gap but the first, which takes the download's own connection.
 */
export async function pumpGaps(
  part: OffsetPartWriter,
  gaps: readonly OpenedGap[],
  size: number,
  { signal, hash, count, slots }: Pick<SegmentedTransfer, 'signal' | 'hash' | 'count'> & { readonly slots: readonly ConnectionSlot[] },
): Promise<{ storageError?: Error }> {
  try {
    await Promise.all(
      gaps.map((gap, i) =>
        pumpSegment(gap.response.body, gap.first === 0 ? part : part.segment(gap.first), gap.first, gap.last - gap.first + 1, signal, count).finally(() =>
          slots[i - 1]?.release(),
        ),
      ),
    );
  } finally {
    for (const gap of gaps) gap.response.body.destroy();
    releaseAll(slots);
  }
  await part.flush();
  if (part.failure !== undefined) return { storageError: part.failure };
  return readBackInto(part, 0, size, hash, signal);
}
