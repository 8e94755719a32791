import { FerryClient } from '@ferry/client';

const KEY = 'ferry.apiKey';

/**
 * The API key lives in this tab's sessionStorage: only pages of Ferry's own origin can read it, it
 * is gone when the tab closes, and it travels only as an Authorization header set by fetch. Browsers
 * never attach such a header on their own, so no other site can make this page's requests (no CSRF),
 * and there is no cookie to steal or to ride.
 */
export function savedKey(): string | null {
  return sessionStorage.getItem(KEY);
}

export function saveKey(key: string): void {
  sessionStorage.setItem(KEY, key);
}

export function forgetKey(): void {
  sessionStorage.removeItem(KEY);
}

/** The API is the page's own origin (and path prefix, behind a proxy). */
export function clientFor(apiKey: string): FerryClient {
  return new FerryClient({ baseUrl: new URL('.', location.href).href, apiKey });
}
