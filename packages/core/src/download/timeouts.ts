import type { Config } from '../config.js';
import type { DownloadRequest } from '../schemas.js';

/** The limits one download runs under: the request's own, else the server's defaults. */
export interface Timeouts {
  readonly connectMs: number;
  readonly headersMs: number;
  readonly bodyIdleMs: number;
  /** 0: no low-speed check. */
  readonly lowSpeedBytesPerSecond: number;
  readonly lowSpeedWindowMs: number;
}

type Requested = DownloadRequest['timeouts'];
const CAPPED = ['connectMs', 'headersMs', 'bodyIdleMs', 'lowSpeedWindowMs'] as const;

/** Fields of a request's `timeouts` that ask for more than FERRY_MAX_TIMEOUT_MS allows. */
export function timeoutCapIssues(requested: Requested, http: Config['http']): Array<{ path: string; message: string }> {
  return CAPPED.filter((field) => (requested?.[field] ?? 0) > http.maxTimeoutMs).map((field) => ({
    path: `timeouts.${field}`,
    message: `must be at most ${http.maxTimeoutMs} (the server's FERRY_MAX_TIMEOUT_MS)`,
  }));
}

/** The API refuses requests over the cap; the clamp here guards jobs added some other way. */
export function resolveTimeouts(requested: Requested, http: Config['http']): Timeouts {
  const capped = (value: number | undefined, fallback: number) => Math.min(value ?? fallback, http.maxTimeoutMs);
  return {
    connectMs: capped(requested?.connectMs, http.connectTimeoutMs),
    headersMs: capped(requested?.headersMs, http.headersTimeoutMs),
    bodyIdleMs: capped(requested?.bodyIdleMs, http.bodyIdleTimeoutMs),
    lowSpeedBytesPerSecond: requested?.lowSpeedBytesPerSecond ?? http.lowSpeedBytesPerSecond,
    lowSpeedWindowMs: capped(requested?.lowSpeedWindowMs, http.lowSpeedWindowMs),
  };
}
