import { FerryError, type ErrorCode } from '@ferry/contract';

/** Where in an attempt an error happened: the same socket error means "could not connect" or "truncated". */
export type DownloadPhase = 'request' | 'body' | 'storage';

const UNDICI_CODES: Readonly<Record<string, ErrorCode>> = {
  UND_ERR_CONNECT_TIMEOUT: 'FERRY_ERR_CONNECT_TIMEOUT',
  UND_ERR_HEADERS_TIMEOUT: 'FERRY_ERR_HEADERS_TIMEOUT',
  UND_ERR_BODY_TIMEOUT: 'FERRY_ERR_BODY_TIMEOUT',
  UND_ERR_RES_CONTENT_LENGTH_MISMATCH: 'FERRY_ERR_TRUNCATED',
};
const NETWORK_CODES = new Set([
  'UND_ERR_SOCKET',
  'UND_ERR_CLOSED',
  'ECONNRESET',
  'ECONNREFUSED',
  'EPIPE',
  'ENOTFOUND',
  'EAI_AGAIN',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ETIMEDOUT',
  'ECONNABORTED',
]);

function codeOf(err: unknown): string | undefined {
  const code = (err as { code?: unknown } | null)?.code;
  return typeof code === 'string' ? code : undefined;
}

/** Maps anything thrown during an attempt to a coded FerryError; what to do next is decided by `isRetryable`. */
export function toFerryError(err: unknown, phase: DownloadPhase, url: string, signal: AbortSignal): FerryError {
  if (err instanceof FerryError) return err;
  if (signal.aborted) {
    // Pause and cancel abort with the coded error they should end in.
    if (signal.reason instanceof FerryError) return signal.reason;
    return new FerryError('FERRY_ERR_ABORTED', `download of ${url} was interrupted: ${String(signal.reason ?? 'aborted')}`, { cause: err });
  }
  const code = codeOf(err);
  const detail = err instanceof Error ? err.message : String(err);
  const mapped = code === undefined ? undefined : UNDICI_CODES[code];
  if (mapped !== undefined) return new FerryError(mapped, `${detail} (${url})`, { cause: err, data: { cause: code } });
  if (code === 'ENOSPC' || code === 'EDQUOT') {
    // Whether another attempt follows is not known here: the job's state and attempts say it, the message must stay true on the last.
    return new FerryError('FERRY_ERR_STORAGE_FULL', `storage is full (${code}); the partial file was removed`, {
      cause: err,
      data: { cause: code },
    });
  }
  if (phase === 'storage') {
    return new FerryError('FERRY_ERR_STORAGE', `could not write to storage: ${detail}`, { cause: err, data: { cause: code } });
  }
  if (code !== undefined && NETWORK_CODES.has(code)) {
    return phase === 'body'
      ? new FerryError('FERRY_ERR_TRUNCATED', `connection lost mid-body: ${detail} (${url})`, { cause: err, data: { cause: code } })
      : new FerryError('FERRY_ERR_CONNECT', `could not reach ${url}: ${detail}`, { cause: err, data: { cause: code } });
  }
  return new FerryError('FERRY_ERR_INTERNAL', `unexpected error downloading ${url}: ${detail}`, { cause: err, data: { cause: code } });
}
