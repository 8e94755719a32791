import { type DownloadRequest } from '@ferry/contract';
import { checkUrl, timeoutCapIssues, type EgressPolicy } from '@ferry/engine';
import { type Config } from '@ferry/core';
import { invalidRequest } from './errors.js';

export interface RequestPolicy {
  readonly http: Config['http'];
  /** Refuses URLs no worker may fetch at once, rather than as a failed job; workers check again, addresses included. */
  readonly egress: EgressPolicy;
  /** Whether FERRY_WEBHOOK_SECRETS is set: callbacks cannot be signed otherwise. */
  readonly callbacksEnabled: boolean;
  /** Whether FERRY_HEADERS_ENCRYPTION_KEYS is set: request headers are not kept in Redis unencrypted. */
  readonly headersEnabled: boolean;
}

/** What the schema cannot know: the server's timeout caps, its egress policy and whether it can sign callbacks and seal headers. Throws a coded FerryError. */
export function checkDownloadRequest(request: Pick<DownloadRequest, 'url' | 'callbackUrl' | 'timeouts' | 'headers'>, policy: RequestPolicy): void {
  const overCap = timeoutCapIssues(request.timeouts, policy.http);
  if (overCap.length > 0) throw invalidRequest(overCap);
  if (request.headers !== undefined && Object.keys(request.headers).length > 0 && !policy.headersEnabled) {
    throw invalidRequest([
      { path: 'headers', message: 'cannot be used: this server has no FERRY_HEADERS_ENCRYPTION_KEYS to encrypt them with while they wait in Redis' },
    ]);
  }
  checkUrl(new URL(request.url), policy.egress, request.url);
  checkCallbackUrl(request.callbackUrl, policy);
}

export function checkCallbackUrl(callbackUrl: string | undefined, policy: RequestPolicy): void {
  if (callbackUrl === undefined) return;
  if (!policy.callbacksEnabled) {
    throw invalidRequest([{ path: 'callbackUrl', message: 'cannot be used: this server has no FERRY_WEBHOOK_SECRETS to sign callbacks with' }]);
  }
  checkUrl(new URL(callbackUrl), policy.egress, callbackUrl);
}
