import { request, type Agent, type Dispatcher } from 'undici';
import type { EgressPolicy } from './egress/address-policy.js';
import { checkRedirect } from './egress/check-redirect.js';
import { checkUrl } from './egress/check-url.js';
import { createGuardedAgent } from './egress/guarded-agent.js';
import { systemResolver, type Resolver } from './egress/guarded-lookup.js';
import { FerryError } from '@ferry/contract';
import { statusError } from './http-status.js';
import { parseRetryAfter } from './retry-after.js';

const MAX_REDIRECTS = 5;
const USER_AGENT = 'Ferry/0.1';
const REDIRECT_STATUSES = new Set([301, 302, 303, 307, 308]);

/**
 * Connection pools that can only reach what the egress policy allows, one per
 * connect timeout: undici sets that timeout per pool, not per request, so a
 * request asking for its own gets a pool of its own (most share one).
 */
export class HttpAgents {
  readonly #agents = new Map<number, Agent>();

  constructor(
    readonly policy: EgressPolicy,
    private readonly resolve: Resolver = systemResolver,
  ) {}

  for(connectTimeoutMs: number): Agent {
    let agent = this.#agents.get(connectTimeoutMs);
    if (agent === undefined) {
      agent = createGuardedAgent({ connectTimeoutMs, policy: this.policy, resolve: this.resolve });
      this.#agents.set(connectTimeoutMs, agent);
    }
    return agent;
  }

  async close(): Promise<void> {
    await Promise.all([...this.#agents.values()].map((agent) => agent.close()));
    this.#agents.clear();
  }
}

export interface RequestOptions {
  readonly dispatcher: Dispatcher;
  /** Checked for the URL and every redirect hop; the dispatcher checks the addresses. */
  readonly policy: EgressPolicy;
  readonly signal: AbortSignal;
  readonly headersTimeoutMs: number;
  /** Longest silence between two body chunks. */
  readonly bodyIdleTimeoutMs: number;
}

export interface OpenedResponse {
  readonly url: string;
  readonly statusCode: number;
  readonly headers: Record<string, string | string[] | undefined>;
  readonly body: Dispatcher.ResponseData['body'];
}

export function headerValue(headers: OpenedResponse['headers'], name: string): string | undefined {
  const value = headers[name];
  return Array.isArray(value) ? value[0] : value;
}

/** What openResponse sends besides its own User-Agent and Accept-Encoding. */
export interface OutgoingHeaders {
  /** The caller's headers: meant for the origin of the URL they were given with. */
  readonly caller: Readonly<Record<string, string>>;
  /** Names (any case) of caller headers that may follow a redirect to another origin. @defaultValue none */
  readonly crossOrigin?: readonly string[] | undefined;
  /** Ferry's own (Range, If-Range): they describe the bytes wanted, wherever those are served. */
  readonly engine?: Readonly<Record<string, string>>;
}

/**
 * The caller's headers that may go on to another origin. Which of them are
 * credentials cannot be told from their names (X-Api-Key, Private-Token, …),
 * so all stay behind but those the request named.
 */
function crossingOrigins(headers: Readonly<Record<string, string>>, allowed: readonly string[] = []): Record<string, string> {
  const names = new Set(allowed.map((name) => name.toLowerCase()));
  return Object.fromEntries(Object.entries(headers).filter(([name]) => names.has(name.toLowerCase())));
}

/**
 * GETs `url`, following redirects hop by hop, and returns the first 2xx
 * response with its body unread. Any other outcome is thrown as a FerryError.
 * Once a redirect leaves an origin, the caller's headers it dropped stay dropped,
 * also if a later hop comes back.
 */
export async function openResponse(url: string, headers: OutgoingHeaders, options: RequestOptions): Promise<OpenedResponse> {
  let current = new URL(url);
  checkUrl(current, options.policy, url);
  let callerHeaders = headers.caller;
  for (let hop = 0; ; hop += 1) {
    const response = await request(current, {
      method: 'GET',
      dispatcher: options.dispatcher,
      signal: options.signal,
      headersTimeout: options.headersTimeoutMs,
      bodyTimeout: options.bodyIdleTimeoutMs,
      headers: { 'user-agent': USER_AGENT, ...callerHeaders, ...headers.engine, 'accept-encoding': 'identity' },
    });
    const { statusCode } = response;
    if (statusCode >= 200 && statusCode < 300) {
      return { url: current.href, statusCode, headers: response.headers, body: response.body };
    }
    await response.body.dump();
    const location = headerValue(response.headers, 'location');
    if (!REDIRECT_STATUSES.has(statusCode) || location === undefined) {
      throw statusError(statusCode, current.href, parseRetryAfter(headerValue(response.headers, 'retry-after')));
    }
    if (hop >= MAX_REDIRECTS) {
      throw new FerryError('FERRY_ERR_TOO_MANY_REDIRECTS', `more than ${MAX_REDIRECTS} redirects, last from ${current.href}`, {
        data: { maxRedirects: MAX_REDIRECTS },
      });
    }
    let next: URL;
    try {
      next = new URL(location, current);
    } catch (cause) {
      throw new FerryError('FERRY_ERR_BAD_REDIRECT', `${current.href} redirected to an invalid URL: ${location}`, { cause });
    }
    checkRedirect(current, next, options.policy, location);
    if (next.origin !== current.origin) callerHeaders = crossingOrigins(callerHeaders, headers.crossOrigin);
    current = next;
  }
}

export function contentLengthOf(response: OpenedResponse): number | null {
  const raw = headerValue(response.headers, 'content-length');
  if (raw === undefined || !/^\d+$/.test(raw)) return null;
  return Number(raw);
}

export function contentTypeOf(response: OpenedResponse): string | null {
  return headerValue(response.headers, 'content-type') ?? null;
}
