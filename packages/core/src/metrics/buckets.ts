/**
 * Histogram buckets, in seconds. Downloads run from milliseconds (a small file on a
 * fast origin) to an hour (a large one on a slow origin), so their buckets span both;
 * Redis commands take well under a millisecond on a healthy network.
 */
export const DOWNLOAD_SECONDS_BUCKETS: readonly number[] = [0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600, 1800, 3600];
export const QUEUE_WAIT_SECONDS_BUCKETS: readonly number[] = [0.01, 0.05, 0.1, 0.5, 1, 5, 10, 30, 60, 300, 900, 1800, 3600, 4 * 3600, 24 * 3600];
export const REDIS_SECONDS_BUCKETS: readonly number[] = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5];
export const COOLDOWN_SECONDS_BUCKETS: readonly number[] = [1, 5, 15, 30, 60, 120, 300, 600, 1800, 3600];
