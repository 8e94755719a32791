/**
 * A Redis key (or pub/sub channel) of Ferry's own: `<prefix>:<name>:…`, beside
 * BullMQ's `<prefix>:<queue>:…`. No queue is named like Ferry's keys (`owner`,
 * `batch`, `outbox`, `control`, `idempotency`…), so the two cannot collide.
 */
export const ferryKey = (prefix: string, ...parts: readonly string[]): string => [prefix, ...parts].join(':');
