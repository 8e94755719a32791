import { createHash } from 'node:crypto';
import { pipeline } from 'node:stream/promises';
import type { Dispatcher } from 'undici';
import { FerryError } from '../errors.js';
import type { DownloadProgress, DownloadRequest, DownloadResult } from '../schemas.js';
import { filenameFromUrl } from '../storage/filename.js';
import type { PartWriter, Storage } from '../storage/storage.js';
import { contentLengthOf, contentTypeOf, openResponse } from './http-client.js';
import { toFerryError, type DownloadPhase } from './to-ferry-error.js';

/** Progress is reported at most this often, so a fast download cannot flood Redis. */
export const PROGRESS_INTERVAL_MS = 250;

export interface DownloadContext {
  readonly jobId: string;
  readonly attempt: number;
  readonly signal: AbortSignal;
  readonly dispatcher: Dispatcher;
  readonly storage: Storage;
  readonly onProgress?: (progress: DownloadProgress) => void;
}

function progressMeter(totalBytes: number | null, onProgress: DownloadContext['onProgress']) {
  const hash = createHash('sha256');
  let receivedBytes = 0;
  let lastReport = 0;
  const meter = async function* (source: AsyncIterable<Buffer>): AsyncGenerator<Buffer> {
    for await (const chunk of source) {
      hash.update(chunk);
      receivedBytes += chunk.length;
      if (onProgress !== undefined) {
        const now = performance.now();
        if (now - lastReport >= PROGRESS_INTERVAL_MS) {
          lastReport = now;
          onProgress({ receivedBytes, totalBytes });
        }
      }
      yield chunk;
    }
  };
  return { meter, receivedBytes: () => receivedBytes, sha256: () => hash.digest('hex') };
}

/**
 * Streams one URL into storage: never buffers the body, hashes while it streams,
 * and publishes the file only once every byte is on disk and checked.
 */
export async function downloadToStorage(request: DownloadRequest, ctx: DownloadContext): Promise<DownloadResult> {
  const { signal } = ctx;
  let phase: DownloadPhase = 'request';
  let part: PartWriter | undefined;
  try {
    const response = await openResponse(request.url, request.headers ?? {}, ctx.dispatcher, signal);
    const totalBytes = contentLengthOf(response);
    phase = 'storage';
    part = await ctx.storage.openPart(ctx.jobId, ctx.attempt);
    let storageFailed = false;
    part.writable.once('error', () => {
      storageFailed = true;
    });
    const progress = progressMeter(totalBytes, ctx.onProgress);
    phase = 'body';
    try {
      await pipeline(response.body, progress.meter, part.writable, { signal });
    } catch (err) {
      if (storageFailed) phase = 'storage';
      throw err;
    }

    const bytes = progress.receivedBytes();
    if (totalBytes !== null && bytes !== totalBytes) {
      throw new FerryError('FERRY_ERR_TRUNCATED', `origin promised ${totalBytes} bytes but sent ${bytes} (${response.url})`, {
        data: { expectedBytes: totalBytes, receivedBytes: bytes },
      });
    }
    const sha256 = progress.sha256();
    if (request.checksum !== undefined && request.checksum.value !== sha256) {
      throw new FerryError(
        'FERRY_ERR_CHECKSUM_MISMATCH',
        `sha256 of the downloaded bytes is ${sha256}, the request expected ${request.checksum.value}`,
        { data: { algorithm: 'sha256', expected: request.checksum.value, actual: sha256 } },
      );
    }
    ctx.onProgress?.({ receivedBytes: bytes, totalBytes: totalBytes ?? bytes });

    phase = 'storage';
    const wanted = request.filename ?? filenameFromUrl(new URL(response.url)) ?? filenameFromUrl(new URL(request.url)) ?? ctx.jobId;
    const stored = await part.commit(wanted);
    part = undefined;
    return { location: stored.location, filename: stored.filename, bytes, sha256, contentType: contentTypeOf(response) };
  } catch (err) {
    await part?.discard().catch(() => undefined);
    throw toFerryError(err, phase, request.url, signal);
  }
}
