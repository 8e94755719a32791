import { timingSafeEqual, createHash } from 'node:crypto';
import { createBullBoard } from '@bull-board/api';
import { BullMQAdapter } from '@bull-board/api/bullMQAdapter';
import { FastifyAdapter } from '@bull-board/fastify';
import type { Queue } from 'bullmq';
import type { FastifyPluginAsync, FastifyReply, FastifyRequest } from 'fastify';
import { FerryError } from '@ferry/core';
import type { AuthFailureLimiter } from './auth-failures.js';
import { sendError } from './errors.js';

export const DASHBOARD_PATH = '/admin/queues';

export interface DashboardOptions {
  readonly queue: Queue;
  readonly user: string;
  readonly password: string;
  /** Hide and refuse every action that changes jobs or queues. */
  readonly readOnly: boolean;
  /** Shared with the API keys' check: wrong passwords count in the same limit per address. */
  readonly authFailures: AuthFailureLimiter;
}

// Hashing first makes both sides the same length, so the comparison leaks neither content nor length.
function sameSecret(a: string, b: string): boolean {
  return timingSafeEqual(createHash('sha256').update(a).digest(), createHash('sha256').update(b).digest());
}

function basicCredentials(header: string | undefined): { user: string; password: string } | undefined {
  const match = /^Basic ([A-Za-z0-9+/=]+)$/i.exec(header ?? '');
  if (match?.[1] === undefined) return undefined;
  const decoded = Buffer.from(match[1], 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  return colon < 0 ? undefined : { user: decoded.slice(0, colon), password: decoded.slice(colon + 1) };
}

/** Job data as operators see it: callers' request headers may hold credentials. */
export function redactJobData(data: unknown): unknown {
  const request = (data as { request?: { headers?: unknown } } | null)?.request;
  if (request === undefined || request === null || typeof request.headers !== 'object' || request.headers === null) return data;
  const headers = Object.fromEntries(Object.keys(request.headers).map((name) => [name, '[redacted]']));
  return { ...(data as object), request: { ...request, headers } };
}

const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);

/**
 * Browsers send Basic credentials with cross-site requests too, so a page
 * elsewhere could make an operator's browser delete jobs. State-changing
 * requests must come from the dashboard's own origin; clients that are not
 * browsers (curl) send neither header and are let through.
 */
function crossSiteReason(request: FastifyRequest): string | undefined {
  const site = request.headers['sec-fetch-site'];
  if (site !== undefined && site !== 'same-origin' && site !== 'none') return `Sec-Fetch-Site is ${site}`;
  const origin = request.headers.origin;
  if (origin === undefined) return undefined;
  let host: string;
  try {
    host = new URL(origin).host;
  } catch {
    return `Origin ${origin} is not a URL`;
  }
  return host === request.headers.host ? undefined : `Origin ${origin} is not this dashboard`;
}

export const dashboard: FastifyPluginAsync<DashboardOptions> = async (app, options) => {
  const serverAdapter = new FastifyAdapter();
  serverAdapter.setBasePath(DASHBOARD_PATH);
  const adapter = new BullMQAdapter(options.queue, { displayName: 'Downloads', readOnlyMode: options.readOnly });
  adapter.setFormatter('data', redactJobData);
  createBullBoard({ queues: [adapter], serverAdapter, options: { uiConfig: { boardTitle: 'Ferry' } } });

  app.addHook('onRequest', async (request: FastifyRequest, reply: FastifyReply) => {
    const refused = options.authFailures.refusal(request.ip);
    if (refused !== undefined) return sendError(reply, refused);
    const given = basicCredentials(request.headers.authorization);
    const userOk = given !== undefined && sameSecret(given.user, options.user);
    const passwordOk = given !== undefined && sameSecret(given.password, options.password);
    if (userOk && passwordOk) {
      if (SAFE_METHODS.has(request.method)) return;
      if (options.readOnly) {
        return sendError(reply, new FerryError('FERRY_ERR_READ_ONLY', 'the dashboard is read-only (FERRY_DASHBOARD_READ_ONLY=true)'));
      }
      const reason = crossSiteReason(request);
      if (reason === undefined) return;
      return sendError(reply, new FerryError('FERRY_ERR_CROSS_SITE', `refused a cross-site request to change jobs: ${reason}`));
    }
    if (given !== undefined) options.authFailures.recordFailure(request.ip);
    void reply.header('www-authenticate', 'Basic realm="Ferry dashboard", charset="UTF-8"');
    return sendError(
      reply,
      new FerryError('FERRY_ERR_UNAUTHORIZED', 'the dashboard needs the credentials from FERRY_DASHBOARD_USER / FERRY_DASHBOARD_PASSWORD'),
    );
  });
  await app.register(serverAdapter.registerPlugin(), { prefix: DASHBOARD_PATH });
};
