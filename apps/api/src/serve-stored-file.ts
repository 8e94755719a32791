import { Readable } from 'node:stream';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { FerryError } from '@ferry/contract';
import { attachmentDisposition } from '@ferry/engine';
import { type StoredReader } from '@ferry/storage';

/** What the answer says about the file besides its bytes. */
export interface StoredFileMeta {
  /** A strong validator of these bytes: the quoted sha256 serves, as it changes with every byte. */
  readonly etag: string;
  readonly contentType: string;
  readonly filename: string;
}

type ByteRange = { readonly start: number; readonly end: number };

/**
 * One `bytes=` range, RFC 9110 §14.1.2: `a-b`, `a-` or `-n`. Several ranges,
 * or a header this does not understand, serve the whole file (a server may
 * ignore Range); `unsatisfiable` is a range that starts past the end, or a suffix of none.
 */
function parseRange(header: string, size: number): ByteRange | 'whole' | 'unsatisfiable' {
  const match = /^bytes=(\d*)-(\d*)$/.exec(header.trim());
  if (match === null) return 'whole';
  const [, first = '', last = ''] = match;
  if (first === '' && last === '') return 'whole';
  if (first === '') {
    const suffix = Number(last);
    if (suffix === 0) return 'unsatisfiable';
    // Satisfiable (RFC 9110 §14.1.2), but no Content-Range can name a range of nothing: the whole, empty file.
    if (size === 0) return 'whole';
    return { start: Math.max(0, size - suffix), end: size - 1 };
  }
  const start = Number(first);
  if (last !== '' && Number(last) < start) return 'whole';
  if (start >= size) return 'unsatisfiable';
  return { start, end: last === '' ? size - 1 : Math.min(Number(last), size - 1) };
}

const listedTags = (header: string): string[] => header.split(',').map((tag) => tag.trim());
const weakMatch = (header: string, etag: string): boolean => listedTags(header).some((tag) => tag === '*' || tag.replace(/^W\//, '') === etag);
const strongMatch = (header: string, etag: string): boolean => listedTags(header).some((tag) => tag === '*' || tag === etag);

// HTTP dates have whole seconds.
const seconds = (date: Date): number => Math.floor(date.getTime() / 1000);
const notAfter = (header: string, modifiedAt: Date): boolean => {
  const since = Date.parse(header);
  return !Number.isNaN(since) && seconds(modifiedAt) <= since / 1000;
};

type ContentAnswer = { readonly status: 200 } | { readonly status: 206; readonly range: ByteRange } | { readonly status: 304 | 412 | 416 };

/** The answer to a GET of a file with this size, date and ETag, as its preconditions and Range decide, RFC 9110 §13.2.2. */
function contentAnswer(headers: Readonly<Record<string, string | undefined>>, file: { size: number; modifiedAt: Date; etag: string }): ContentAnswer {
  const { 'if-match': ifMatch, 'if-unmodified-since': ifUnmodifiedSince, 'if-none-match': ifNoneMatch, 'if-modified-since': ifModifiedSince } = headers;
  if (ifMatch !== undefined ? !strongMatch(ifMatch, file.etag) : ifUnmodifiedSince !== undefined && !notAfter(ifUnmodifiedSince, file.modifiedAt))
    return { status: 412 };
  if (ifNoneMatch !== undefined ? weakMatch(ifNoneMatch, file.etag) : ifModifiedSince !== undefined && notAfter(ifModifiedSince, file.modifiedAt))
    return { status: 304 };
  const { range: rangeHeader, 'if-range': ifRange } = headers;
  if (rangeHeader === undefined) return { status: 200 };
  // If-Range: the range only while the file is still the one the caller has; otherwise all of it.
  if (ifRange !== undefined && ifRange !== (/^(W\/)?"/.test(ifRange) ? file.etag : file.modifiedAt.toUTCString())) return { status: 200 };
  const range = parseRange(rangeHeader, file.size);
  if (range === 'whole') return { status: 200 };
  if (range === 'unsatisfiable') return { status: 416 };
  return { status: 206, range };
}

const stringHeaders = (request: FastifyRequest): Record<string, string | undefined> =>
  Object.fromEntries(Object.entries(request.headers).map(([name, value]) => [name, typeof value === 'string' ? value : undefined]));

/** Answers a GET for a stored file from the reader the caller opened (and checked); the reader is closed or streamed either way. */
export function serveStoredFile(request: FastifyRequest, reply: FastifyReply, reader: StoredReader, meta: StoredFileMeta): FastifyReply {
  const { size, modifiedAt } = reader;
  const answer = contentAnswer(stringHeaders(request), { size, modifiedAt, etag: meta.etag });
  // Fastify's HEAD route drains a stream to nothing, which would read the whole file from storage; an empty
  // stream keeps the Content-Length set here (no body at all would make it 0).
  const body = (range?: ByteRange) => (request.method === 'HEAD' ? (void reader.close(), Readable.from([])) : reader.stream(range));
  if (answer.status === 200 || answer.status === 206) {
    void reply
      .header('etag', meta.etag)
      .header('last-modified', modifiedAt.toUTCString())
      .header('accept-ranges', 'bytes')
      .header('content-type', meta.contentType)
      .header('content-disposition', attachmentDisposition(meta.filename));
    if (answer.status === 200) return reply.status(200).header('content-length', size).send(body());
    const { start, end } = answer.range;
    return reply
      .status(206)
      .header('content-range', `bytes ${start}-${end}/${size}`)
      .header('content-length', end - start + 1)
      .send(body(answer.range));
  }
  void reader.close();
  if (answer.status === 412) throw new FerryError('FERRY_ERR_PRECONDITION_FAILED', 'the file does not match If-Match or changed since If-Unmodified-Since');
  if (answer.status === 416) {
    throw new FerryError('FERRY_ERR_RANGE_NOT_SATISFIABLE', 'the Range starts past the end of the file; the Content-Range header gives its size', {
      data: { headers: { 'Content-Range': `bytes */${size}` } },
    });
  }
  return reply.status(304).header('etag', meta.etag).header('last-modified', modifiedAt.toUTCString()).send();
}
