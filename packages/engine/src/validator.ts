import { headerValue, type OpenedResponse } from './http-client.js';

/** Whole seconds between a file's change and its serving under which its Last-Modified still names one version. */
const STRONG_DATE_MS = 1000;

/**
 * A validator that proves a later response carries the same bytes: a strong ETag,
 * else a Last-Modified at least a second before the response's Date. A file changed
 * in the second it was served can change again within that second and keep its
 * Last-Modified, so an earlier one is no strong validator (RFC 9110 §8.8.2.2), and
 * If-Range must not carry it (§13.1.5).
 */
export function validatorOf(response: OpenedResponse): string | undefined {
  const etag = headerValue(response.headers, 'etag');
  if (etag !== undefined && !etag.startsWith('W/')) return etag;
  const lastModified = headerValue(response.headers, 'last-modified');
  const served = Date.parse(headerValue(response.headers, 'date') ?? '');
  if (lastModified === undefined || !(served - Date.parse(lastModified) >= STRONG_DATE_MS)) return undefined;
  return lastModified;
}
