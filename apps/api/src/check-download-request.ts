import { checkUrl, timeoutCapIssues, type Config, type DownloadRequest, type EgressPolicy } from '@ferry/core';
import { invalidRequest } from './errors.js';

export interface RequestPolicy {
  readonly http: Config['http'];
  /** Refuses URLs no worker may fetch at once, rather than as a failed job; workers check again, addresses included. */
  readonly egress: EgressPolicy;
  /** Whether FERRY_WEBHOOK_SECRETS is set: callbacks cannot be signed otherwise. */
  readonly callbacksEnabled: boolean;
}

/** What the schema cannot know: the server's timeout caps, its egress policy and whether it can sign callbacks. Throws a coded FerryError. */
export function checkDownloadRequest(request: Pick<DownloadRequest, 'url' | 'callbackUrl' | 'timeouts'>, policy: RequestPolicy): void {
  const overCap = timeoutCapIssues(request.timeouts, policy.http);
  if (overCap.length > 0) throw invalidRequest(overCap);
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
