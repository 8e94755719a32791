import type { OpenAPIV3_1 } from 'openapi-types';
import { ERROR_CODES, ErrorBody, type ErrorCode } from '@ferry/contract';
import type { Operation, ResponseHeader } from './operation.js';
import { refTo } from './schemas.js';

/** What any route behind an API key may answer, whatever it does. */
const EVERY_V1_ROUTE: Readonly<Partial<Record<ErrorCode, string>>> = {
  FERRY_ERR_UNAUTHORIZED: 'no valid API key in `Authorization: Bearer <key>`',
  FERRY_ERR_RATE_LIMITED:
    'this API key made more than FERRY_API_RATE_LIMIT requests in the window, or this address sent more than FERRY_AUTH_FAILURE_LIMIT wrong keys; retry after `Retry-After` seconds',
  FERRY_ERR_REDIS_UNAVAILABLE: 'Redis cannot be reached, so nothing was accepted or changed; retry after `Retry-After` seconds',
  FERRY_ERR_INTERNAL: 'a bug or an unforeseen fault; the details are in the API log',
};

const HEADERS_BY_STATUS: Readonly<Record<number, readonly ResponseHeader[]>> = {
  401: ['WWW-Authenticate'],
  429: ['Retry-After'],
  503: ['Retry-After'],
  416: ['Content-Range'],
};

/** Every code an operation may answer with, and when. */
function errorsOf(operation: Operation): Array<[ErrorCode, string]> {
  const errors = operation.public ? operation.errors : { ...operation.errors, ...EVERY_V1_ROUTE };
  return Object.entries(errors) as Array<[ErrorCode, string]>;
}

/** A response's `headers`, naming components/headers; none at all when it has none. */
export function responseHeaders(names: readonly ResponseHeader[] = []): Pick<OpenAPIV3_1.ResponseObject, 'headers'> {
  return names.length === 0 ? {} : { headers: Object.fromEntries(names.map((name) => [name, { $ref: `#/components/headers/${name}` }])) };
}

/** One response per HTTP status, each listing its codes (status from ERROR_CODES) with an ErrorBody narrowed to them. */
export function errorResponses(operation: Operation): Record<string, OpenAPIV3_1.ResponseObject> {
  const byStatus = new Map<number, Array<[ErrorCode, string]>>();
  for (const [code, when] of errorsOf(operation)) {
    const status = ERROR_CODES[code].httpStatus;
    byStatus.set(status, [...(byStatus.get(status) ?? []), [code, when]]);
  }
  return Object.fromEntries(
    [...byStatus].map(([status, codes]) => [
      String(status),
      {
        description: codes.map(([code, when]) => `- \`${code}\`: ${when}`).join('\n'),
        ...responseHeaders(HEADERS_BY_STATUS[status]),
        content: {
          'application/json': {
            schema: { allOf: [refTo(ErrorBody), { type: 'object', properties: { code: { enum: codes.map(([code]) => code) } } }] },
            examples: Object.fromEntries(codes.map(([code, when]) => [code, { summary: code, value: { code, message: when } }])),
          },
        },
      },
    ]),
  );
}
