import { z } from 'zod';
import { ERROR_CODES, type ErrorCode } from '@ferry/core';

/** What every API error answers; the OpenAPI document is generated from this schema. */
export const ErrorBody = z.object({
  code: z.enum(Object.keys(ERROR_CODES) as [ErrorCode, ...ErrorCode[]]),
  message: z.string(),
  /** One entry per problem with the request, for FERRY_ERR_VALIDATION. */
  issues: z.array(z.object({ path: z.string(), message: z.string() })).optional(),
});
export type ErrorBody = z.infer<typeof ErrorBody>;
