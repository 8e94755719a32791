import { createHash, timingSafeEqual } from 'node:crypto';

const BEARER = /^Bearer ([\x21-\x7e]+)$/;
const digest = (text: string) => createHash('sha256').update(text).digest();

/**
 * Whether an `Authorization` header carries the metrics token; always true without one.
 * Compared as digests in constant time, so neither the token nor its length leaks by timing.
 */
export function metricsAuthorized(token: string | undefined, authorization: string | undefined): boolean {
  if (token === undefined) return true;
  const presented = BEARER.exec(authorization ?? '')?.[1];
  return presented !== undefined && timingSafeEqual(digest(presented), digest(token));
}

/** What a scraper is told when it sent no token or a wrong one. */
export const METRICS_UNAUTHORIZED_MESSAGE = 'send the metrics token as `Authorization: Bearer <FERRY_METRICS_TOKEN>`';
