import { z } from 'zod';
import { ErrorBody } from '@ferry/contract';
import { abortedError, FerryClientError } from './client-error.js';

export interface SendOptions {
  readonly body?: unknown;
  readonly headers?: Record<string, string>;
  readonly signal?: AbortSignal | undefined;
}

/** Why fetch failed, as a person reads it: undici hides the system error (ECONNREFUSED…) in `cause`. */
function transportReason(err: unknown): string {
  const cause = (err as { cause?: unknown }).cause;
  if (cause instanceof Error) return cause.message;
  return err instanceof Error ? err.message : String(err);
}

export function unreachable(baseUrl: string, err: unknown): FerryClientError {
  return new FerryClientError('FERRY_CLIENT_ERR_UNREACHABLE', `cannot reach Ferry at ${baseUrl}: ${transportReason(err)}`, { cause: err });
}

export function badResponse(message: string, options: { status?: number; cause?: unknown; issues?: z.core.$ZodIssue[] } = {}): FerryClientError {
  const issues = options.issues?.map((issue) => ({ path: issue.path.map(String).join('.'), message: issue.message }));
  const detail = issues === undefined ? '' : `: ${issues.map((i) => `${i.path} ${i.message}`).join('; ')}`;
  return new FerryClientError('FERRY_CLIENT_ERR_BAD_RESPONSE', `${message}${detail}`, { status: options.status, cause: options.cause, issues });
}

/** `text` as JSON checked against `schema`, or FERRY_CLIENT_ERR_BAD_RESPONSE saying what did not fit. */
export function parseBody<T>(schema: z.ZodType<T>, text: string, what: string, status?: number): T {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (err) {
    throw badResponse(`${what} is not JSON (${text.slice(0, 80)})`, { status, cause: err });
  }
  const parsed = schema.safeParse(json);
  if (!parsed.success) throw badResponse(`${what} does not match Ferry's API contract`, { status, issues: parsed.error.issues });
  return parsed.data;
}

/** The Ferry error a non-2xx answer carries, or FERRY_CLIENT_ERR_BAD_RESPONSE when it carries none (a proxy's HTML page…). */
async function errorOf(response: Response, baseUrl: string): Promise<FerryClientError> {
  const text = await response.text().catch((err: unknown) => {
    throw unreachable(baseUrl, err);
  });
  let body: ErrorBody;
  try {
    body = parseBody(ErrorBody, text, 'the error body', response.status);
  } catch {
    // Whatever did not fit (not JSON, an unknown code…), the caller hears that no Ferry error came back, and what came instead.
    return badResponse(`Ferry at ${baseUrl} answered ${response.status} ${response.statusText} without a Ferry error (${text.slice(0, 80)})`, {
      status: response.status,
    });
  }
  return new FerryClientError(body.code, body.message, { status: response.status, issues: body.issues });
}

/** One API call: a 2xx response, or a FerryClientError (Ferry's code, no answer, or aborted). */
export async function send(fetcher: typeof fetch, baseUrl: string, apiKey: string, method: string, path: string, options: SendOptions = {}): Promise<Response> {
  const { signal } = options;
  if (signal?.aborted) throw abortedError(signal);
  const headers: Record<string, string> = { authorization: `Bearer ${apiKey}`, accept: 'application/json', ...options.headers };
  if (options.body !== undefined) headers['content-type'] = 'application/json';
  let response: Response;
  try {
    response = await fetcher(new URL(path, baseUrl.endsWith('/') ? baseUrl : `${baseUrl}/`), {
      method,
      headers,
      body: options.body === undefined ? undefined : JSON.stringify(options.body),
      signal,
    });
  } catch (err) {
    if (signal?.aborted) throw abortedError(signal);
    throw unreachable(baseUrl, err);
  }
  if (!response.ok) throw await errorOf(response, baseUrl);
  return response;
}
