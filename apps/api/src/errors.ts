import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify';
import { z } from 'zod';
import { ERROR_CODES, FerryError, type ErrorBody, type ErrorCode } from '@ferry/contract';
import { isRedisUnavailableError } from '@ferry/core';

/**
 * Turns zod issues into lines a person can act on: which field, and what it must be.
 * `allowedKeys` names the fields of the top-level object, for unknown-field messages.
 */
function describeZodIssues(error: z.ZodError, allowedKeys: readonly string[] = []): Array<{ path: string; message: string }> {
  return error.issues.flatMap((issue) => {
    const at = issue.path.map(String).join('.');
    if (issue.code === 'unrecognized_keys') {
      const allowed = at === '' && allowedKeys.length > 0 ? `; allowed fields are ${allowedKeys.join(', ')}` : '';
      return issue.keys.map((key) => ({ path: at === '' ? key : `${at}.${key}`, message: `is not a known field: remove it${allowed}` }));
    }
    if (issue.code === 'invalid_key') {
      return issue.issues.map((inner) => ({ path: at, message: inner.message }));
    }
    if (issue.code === 'invalid_type' && issue.path.length === 0) {
      return [{ path: '', message: 'the body must be a JSON object such as {"url": "https://example.com/file.bin"}' }];
    }
    if (issue.code === 'invalid_type' && issue.message.startsWith('Invalid input')) {
      return [{ path: at, message: `must be of type ${issue.expected}` }];
    }
    return [{ path: at, message: issue.message }];
  });
}

export function validationError(error: z.ZodError, allowedKeys: readonly string[] = [], what = 'download request'): FerryError {
  return invalidRequest(describeZodIssues(error, allowedKeys), what);
}

// A batch can have thousands of problems: the message names the first few, `issues` has them all.
const ISSUES_IN_MESSAGE = 10;

/** A 400 that lists every problem with its field, as the body (or query) came in. */
export function invalidRequest(issues: Array<{ path: string; message: string }>, what = 'download request'): FerryError {
  const shown = issues.slice(0, ISSUES_IN_MESSAGE).map((i) => (i.path === '' ? i.message : `${i.path} ${i.message}`));
  if (issues.length > ISSUES_IN_MESSAGE) shown.push(`and ${issues.length - ISSUES_IN_MESSAGE} more (see issues)`);
  return new FerryError('FERRY_ERR_VALIDATION', `Invalid ${what}: ${shown.join('; ')}`, { data: { issues } });
}

// Fastify's own errors (body parsing, limits) carry FST_ codes; callers see Ferry's.
const FASTIFY_CODES: Readonly<Record<string, [ErrorCode, string]>> = {
  FST_ERR_CTP_EMPTY_JSON_BODY: ['FERRY_ERR_VALIDATION', 'the body is empty: send a JSON object such as {"url": "https://example.com/file.bin"}'],
  FST_ERR_CTP_INVALID_MEDIA_TYPE: ['FERRY_ERR_UNSUPPORTED_MEDIA_TYPE', 'send the body as JSON with Content-Type: application/json'],
  FST_ERR_CTP_BODY_TOO_LARGE: [
    'FERRY_ERR_PAYLOAD_TOO_LARGE',
    'the body is larger than the API accepts (FERRY_API_BODY_LIMIT_BYTES; FERRY_BATCH_BODY_LIMIT_BYTES for batches)',
  ],
  FST_ERR_BAD_URL: ['FERRY_ERR_VALIDATION', 'the request path has a % that starts no %XX escape: percent-encode the id or name in the path'],
};

/** The coded error a client is answered with for whatever a route, a hook or Fastify itself threw. */
function toClientError(error: FastifyError | Error): FerryError {
  if (error instanceof FerryError) return error;
  if (error instanceof z.ZodError) return validationError(error);
  if (isRedisUnavailableError(error)) {
    return new FerryError('FERRY_ERR_REDIS_UNAVAILABLE', 'Redis is unreachable, so nothing was accepted or changed; retry shortly', {
      cause: error,
    });
  }
  const code = (error as FastifyError).code;
  const known = code === undefined ? undefined : FASTIFY_CODES[code];
  if (known !== undefined) {
    const [ferryCode, hint] = known;
    return new FerryError(ferryCode, hint, { cause: error });
  }
  const status = (error as FastifyError).statusCode;
  if (status !== undefined && status >= 400 && status < 500) {
    return new FerryError('FERRY_ERR_VALIDATION', error.message, { cause: error });
  }
  return new FerryError('FERRY_ERR_INTERNAL', 'internal error; the details are in the API log', { cause: error });
}

/** The JSON body every error is answered with. */
export function errorBody(err: FerryError): ErrorBody {
  const body: ErrorBody = { code: err.code, message: err.message };
  const issues = err.data['issues'];
  if (Array.isArray(issues)) body.issues = issues as ErrorBody['issues'];
  return body;
}

export function sendError(reply: FastifyReply, err: FerryError): FastifyReply {
  const body = errorBody(err);
  const retryAfter = err.data['retryAfterSeconds'] ?? (err.code === 'FERRY_ERR_REDIS_UNAVAILABLE' ? 5 : undefined);
  if (typeof retryAfter === 'number') void reply.header('retry-after', String(retryAfter));
  const contentRange = (err.data['headers'] as Record<string, string> | undefined)?.['Content-Range'];
  if (contentRange !== undefined) void reply.header('content-range', contentRange);
  return reply.status(ERROR_CODES[err.code].httpStatus).send(body);
}

export function errorHandler(error: FastifyError | Error, request: FastifyRequest, reply: FastifyReply): FastifyReply {
  const err = toClientError(error);
  if (err.code === 'FERRY_ERR_INTERNAL') request.log.error({ err: error }, 'unhandled error');
  else if (err.code === 'FERRY_ERR_REDIS_UNAVAILABLE') request.log.warn({ err: error.message }, 'redis unavailable');
  return sendError(reply, err);
}
