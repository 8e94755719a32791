import { UnrecoverableError, type Processor } from 'bullmq';
import { request } from 'undici';
import { FerryError } from '@ferry/contract';
import { checkUrl, type HttpAgents } from '@ferry/engine';
import { CallbackJob, encodeFailureReason, webhookHeaders, type Config } from '@ferry/core';

export interface CallbackDeps {
  readonly config: Config;
  readonly agents: HttpAgents;
}

export interface CallbackDelivery {
  readonly status: number;
  readonly attempt: number;
}

/**
 * POSTs one signed event. 2xx is delivered; anything else, a redirect included
 * (redirects are not followed), is retried by the callbacks queue.
 */
export function createCallbackProcessor(deps: CallbackDeps): Processor<unknown, CallbackDelivery> {
  const { config, agents } = deps;
  return async (job, _token, signal) => {
    const parsed = CallbackJob.safeParse(job.data);
    if (!parsed.success) throw new UnrecoverableError(`FERRY_ERR_INVALID_JOB: callback job data does not match the contract: ${parsed.error.message}`);
    const { url, event } = parsed.data;
    try {
      checkUrl(new URL(url), agents.policy, url);
    } catch (err) {
      throw new UnrecoverableError(encodeFailureReason(err as FerryError));
    }
    const body = JSON.stringify(event);
    const timestamp = Math.floor(Date.now() / 1000);
    let response;
    try {
      response = await request(url, {
        method: 'POST',
        dispatcher: agents.for(config.callbacks.timeoutMs),
        headersTimeout: config.callbacks.timeoutMs,
        bodyTimeout: config.callbacks.timeoutMs,
        ...(signal === undefined ? {} : { signal }),
        headers: { 'content-type': 'application/json', 'user-agent': 'Ferry-Webhooks/0.1', ...webhookHeaders(config.callbacks.secrets, job.id ?? '', timestamp, body) },
        body,
      });
    } catch (err) {
      // A destination the egress guard refuses (found only once DNS answers) will not become allowed by retrying.
      if (err instanceof FerryError && !err.retryable) throw new UnrecoverableError(encodeFailureReason(err));
      throw err;
    }
    await response.body.dump();
    if (response.statusCode < 200 || response.statusCode >= 300) {
      throw new Error(encodeFailureReason(new FerryError('FERRY_ERR_CALLBACK_REJECTED', `${url} answered ${response.statusCode}`)));
    }
    return { status: response.statusCode, attempt: job.attemptsStarted };
  };
}
