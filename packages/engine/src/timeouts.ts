import type { DownloadRequest } from '@ferry/contract';

/** The server's defaults and cap for every download's timeouts (FERRY_*_TIMEOUT_MS, FERRY_LOW_SPEED_*). */
export interface HttpLimits {
  /** Time to open a connection (and TLS). */
  readonly connectTimeoutMs: number;
  /** Time from sending a request to its response headers. */
  readonly headersTimeoutMs: number;
  /** Longest silence between two body chunks. */
  readonly bodyIdleTimeoutMs: number;
  /** The most a request may ask for any of the timeouts above and the low-speed window. */
  readonly maxTimeoutMs: number;
  /** Below this speed for a whole window the attempt fails; 0 turns the check off. */
  readonly lowSpeedBytesPerSecond: number;
  readonly lowSpeedWindowMs: number;
}

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
export function timeoutCapIssues(requested: Requested, http: HttpLimits): Array<{ path: string; message: string }> {
  return CAPPED.filter((field) => (requested?.[field] ?? 0) > http.maxTimeoutMs).map((field) => ({
    path: `timeouts.${field}`,
    message: `must be at most ${http.maxTimeoutMs} (the server's FERRY_MAX_TIMEOUT_MS)`,
  }));
}

/** The API refuses requests over the cap; the clamp here guards jobs added some other way. */
export function resolveTimeouts(requested: Requested, http: HttpLimits): Timeouts {
  const capped = (value: number | undefined, fallback: number) => Math.min(value ?? fallback, http.maxTimeoutMs);
  return {
    connectMs: capped(requested?.connectMs, http.connectTimeoutMs),
    headersMs: capped(requested?.headersMs, http.headersTimeoutMs),
    bodyIdleMs: capped(requested?.bodyIdleMs, http.bodyIdleTimeoutMs),
    lowSpeedBytesPerSecond: requested?.lowSpeedBytesPerSecond ?? http.lowSpeedBytesPerSecond,
    lowSpeedWindowMs: capped(requested?.lowSpeedWindowMs, http.lowSpeedWindowMs),
  };
}
