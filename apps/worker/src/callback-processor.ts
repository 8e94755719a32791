import type { Processor } from 'bullmq';
import { request } from 'undici';
import { FerryError } from '@ferry/contract';
import { checkUrl, type HttpAgents } from '@ferry/engine';
import { CallbackJob, webhookHeaders, type Config } from '@ferry/core';
import { toJobFailure } from './job-failure.js';

/** What the callback processor is built from; every field is required (none has a default). */
export interface CallbackDeps {
  /** The loaded configuration: the delivery timeout and the webhook signing secrets. */
  readonly config: Config;
  /** The egress-guarded HTTP agents deliveries go through, as downloads do. */
  readonly agents: HttpAgents;
}

/** A delivered callback, kept as its job's return value. */
export interface CallbackDelivery {
  /** The receiver's 2xx status. */
  readonly status: number;
  /** Which attempt delivered it, the first being 1. */
  readonly attempt: number;
}

const invalidJob = (why: string) => new FerryError('FERRY_ERR_INVALID_JOB', `callback job data does not match the contract: ${why}`);

/**
 * POSTs one signed event. 2xx is delivered; anything else, a redirect included
 * (redirects are not followed), is retried by the callbacks queue.
 */
export function createCallbackProcessor(deps: CallbackDeps): Processor<unknown, CallbackDelivery> {
  const { config, agents } = deps;
  return async (job, _token, signal) => {
    const parsed = CallbackJob.safeParse(job.data);
    if (!parsed.success) throw toJobFailure(invalidJob(parsed.error.message));
    const { url, owner, event } = parsed.data;
    try {
      checkUrl(new URL(url), agents.policy, url);
    } catch (err) {
      throw toJobFailure(err);
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
        headers: {
          'content-type': 'application/json',
          'user-agent': 'Ferry-Webhooks/0.1',
          ...webhookHeaders(config.callbacks.secrets, owner, job.id ?? '', timestamp, body),
        },
        body,
      });
    } catch (err) {
      // A destination the egress guard refuses only once DNS answers is permanent; a network fault is retried.
      throw toJobFailure(err);
    }
    await response.body.dump();
    if (response.statusCode < 200 || response.statusCode >= 300) {
      throw toJobFailure(new FerryError('FERRY_ERR_CALLBACK_REJECTED', `${url} answered ${response.statusCode}`));
    }
    return { status: response.statusCode, attempt: job.attemptsStarted };
  };
}
