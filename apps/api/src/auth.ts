import type { FastifyReply, FastifyRequest } from 'fastify';
import { FerryError, findApiKey, type ApiKey } from '@ferry/core';
import { sendError } from './errors.js';

declare module 'fastify' {
  interface FastifyRequest {
    /** The API key that authenticated this request; set by `requireApiKey`. */
    apiKey?: ApiKey;
  }
}

const BEARER = /^Bearer ([\x21-\x7e]+)$/;

/** An onRequest hook: `Authorization: Bearer <key>` with one of `keys`, or 401. */
export function requireApiKey(keys: readonly ApiKey[]) {
  return async (request: FastifyRequest, reply: FastifyReply): Promise<FastifyReply | undefined> => {
    const token = BEARER.exec(request.headers.authorization ?? '')?.[1];
    const key = token === undefined ? undefined : findApiKey(keys, token);
    if (key !== undefined) {
      request.apiKey = key;
      return undefined;
    }
    void reply.header('www-authenticate', 'Bearer realm="Ferry API"');
    const message =
      token === undefined
        ? 'send an API key as `Authorization: Bearer <key>` (npm start prints one; operators make them with `npm run api-key -- <name>`)'
        : 'the API key is not valid: check it, or ask the operator for one';
    return sendError(reply, new FerryError('FERRY_ERR_UNAUTHORIZED', message));
  };
}
