import type { FastifyReply, FastifyRequest } from 'fastify';
import { FerryError } from '@ferry/contract';
import { findApiKey, type ApiKey } from '@ferry/core';
import type { AuthFailureLimiter } from './auth-failures.js';
import { sendError } from './errors.js';

declare module 'fastify' {
  interface FastifyRequest {
    /** The API key that authenticated this request; set by `requireApiKey`. */
    apiKey?: ApiKey;
  }
}

const BEARER = /^Bearer ([\x21-\x7e]+)$/;

/**
 * An onRequest hook: `Authorization: Bearer <key>` with one of `keys`, or 401;
 * 429 instead for an address that guessed too often. A valid key always gets
 * through: its 256 random bits cannot be guessed, so letting it pass past the
 * limit teaches a guesser nothing, while refusing it would let one guesser
 * behind a shared proxy or NAT lock out every caller there.
 */
export function requireApiKey(keys: readonly ApiKey[], failures: AuthFailureLimiter) {
  return async (request: FastifyRequest, reply: FastifyReply): Promise<FastifyReply | undefined> => {
    const token = BEARER.exec(request.headers.authorization ?? '')?.[1];
    const key = token === undefined ? undefined : findApiKey(keys, token);
    if (key !== undefined) {
      request.apiKey = key;
      return undefined;
    }
    const refused = failures.refusal(request.ip);
    if (refused !== undefined) return sendError(reply, refused);
    // A key that is wrong counts; a missing one is no guess.
    if (token !== undefined) failures.recordFailure(request.ip);
    void reply.header('www-authenticate', 'Bearer realm="Ferry API"');
    const message =
      token === undefined
        ? 'send an API key as `Authorization: Bearer <key>` (npm start prints one; operators make them with `npm run api-key -- <name>`)'
        : 'the API key is not valid: check it, or ask the operator for one';
    return sendError(reply, new FerryError('FERRY_ERR_UNAUTHORIZED', message));
  };
}
