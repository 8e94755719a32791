import { expect } from 'vitest';
import { FerryClientError } from '@ferry/client';

/** What `promise` rejected with, checked to be a FerryClientError; fails the test if it resolved. */
export async function rejection(promise: Promise<unknown>): Promise<FerryClientError> {
  const err = await promise.then(
    (value) => {
      throw new Error(`expected a rejection, got ${JSON.stringify(value)}`);
    },
    (reason: unknown) => reason,
  );
  expect(err).toBeInstanceOf(FerryClientError);
  return err as FerryClientError;
}
