import { UnrecoverableError } from 'bullmq';
import { FerryError, isRetryable } from '@ferry/contract';
import { encodeFailureReason } from '@ferry/core';

/**
 * What a processor throws when an attempt fails, for downloads and callbacks alike.
 * BullMQ keeps a failure's message only, so a coded error's code goes in it; one that
 * `isRetryable` calls permanent becomes an UnrecoverableError, which ends the retries.
 * Anything uncoded (an undici network fault, a bug) is thrown as it is: it is retried.
 */
export function toJobFailure(err: unknown): Error {
  if (!(err instanceof FerryError)) return err instanceof Error ? err : new Error(String(err));
  const reason = encodeFailureReason(err);
  const failure = isRetryable(err) ? new Error(reason) : new UnrecoverableError(reason);
  return Object.assign(failure, { cause: err });
}
