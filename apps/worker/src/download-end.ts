import { ferryErrorOf } from '@ferry/contract';
import type { DownloadEnd } from '@ferry/core';

/** The statuses by which an origin says it is overloaded: they lower its host's limit, and with Retry-After close it for a while. */
const BACKPRESSURE_STATUSES: ReadonlySet<unknown> = new Set([429, 503]);

/** How an error (an attempt's, or one a segment's range was refused with) reads to the limits. */
export function endOf(err: unknown): DownloadEnd {
  const coded = ferryErrorOf(err);
  if (coded?.code !== 'FERRY_ERR_ORIGIN_UNAVAILABLE' || !BACKPRESSURE_STATUSES.has(coded.data['status'])) return { kind: 'other' };
  const retryAfterMs = coded.data['retryAfterMs'];
  return { kind: 'backpressure', status: coded.data['status'] as number, retryAfterMs: typeof retryAfterMs === 'number' ? retryAfterMs : undefined };
}
