/** @ferry/engine: one URL into one stored file, with no Redis: the HTTP client, the egress guard, timeouts and file naming. */
export {
  DEFAULT_SEGMENT_MIN_BYTES,
  DEFAULT_SEGMENT_PROBE_MS,
  DEFAULT_SEGMENT_SPLIT_BELOW_BYTES_PER_SECOND,
  DEFAULT_SEGMENTS,
  downloadToStorage,
  PROGRESS_INTERVAL_MS,
  type DownloadContext,
} from './engine.js';
export type { ConnectionSlot, TakeConnections } from './connection-slots.js';
export { HttpAgents } from './http-client.js';
export { resolveTimeouts, timeoutCapIssues, type HttpLimits, type Timeouts } from './timeouts.js';
export { StoredDownload, WorkerProgress } from './progress.js';
export { EgressPolicy, normalizeHostname, parseCidr, type EgressPolicyOptions, type PortRule } from './egress/address-policy.js';
export { checkUrl } from './egress/check-url.js';
export type { Resolver } from './egress/guarded-lookup.js';
export { embeddedIPv4, isIPv4Mapped, networkOf, parseIp, type IpAddress } from './egress/ip-address.js';
export { attachmentDisposition } from './naming/content-disposition.js';
