import { STATUS_CODES } from 'node:http';
import { FerryError } from '@ferry/contract';

/**
 * Statuses that mean "try again later": timeouts, too early, rate limits and
 * server errors. 501 and 505 are server errors that no retry will fix.
 */
export function isRetryableStatus(status: number): boolean {
  if (status === 408 || status === 425 || status === 429) return true;
  return status >= 500 && status <= 599 && status !== 501 && status !== 505;
}

export function statusError(status: number, url: string, retryAfterMs: number | undefined): FerryError {
  const text = `origin answered ${status} ${STATUS_CODES[status] ?? ''}`.trimEnd() + ` for ${url}`;
  return isRetryableStatus(status)
    ? new FerryError('FERRY_ERR_ORIGIN_UNAVAILABLE', text, { data: { status, ...(retryAfterMs === undefined ? {} : { retryAfterMs }) } })
    : new FerryError('FERRY_ERR_ORIGIN_REJECTED', text, { data: { status } });
}
