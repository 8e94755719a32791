import { timingSafeEqual, createHash } from 'node:crypto';
import { createBullBoard } from '@bull-board/api';
import { BullMQAdapter } from '@bull-board/api/bullMQAdapter';
import { FastifyAdapter } from '@bull-board/fastify';
import type { Queue } from 'bullmq';
import type { FastifyPluginAsync, FastifyReply, FastifyRequest } from 'fastify';
import { FerryError } from '@ferry/contract';
import { type BatchStore, type DownloadControl, type RedisClient } from '@ferry/core';
import { crossSiteReason, refusedAction } from './dashboard-guard.js';
import { retryDownloadsAsTheApiDoes } from './dashboard-retries.js';
import { callbackTitle, dashboardAnswers, downloadProgressView, downloadTitle, redactJobData } from './dashboard-views.js';
import type { AuthFailureLimiter } from './auth-failures.js';
import { sendError } from './errors.js';

export const DASHBOARD_PATH = '/admin/queues';

interface DashboardOptions {
  readonly queue: Queue;
  /** Webhook deliveries, shown so that failed ones are seen. */
  readonly callbacks: Queue;
  /** The queue's connection. */
  readonly redis: RedisClient;
  readonly control: DownloadControl;
  readonly batches: BatchStore;
  readonly user: string;
  readonly password: string;
  /** Hide and refuse every action that changes jobs or queues. */
  readonly readOnly: boolean;
  /**
   * Wrong passwords per address, apart from wrong API keys. Past the limit even
   * the right password is refused: unlike a key it can be guessed, and a guess
   * must not learn it was right.
   */
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

const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);

/** The Bull Board route a request matched, as @bull-board/api names it (without the dashboard's path). */
const boardRoute = (request: FastifyRequest): string => request.routeOptions.url?.slice(DASHBOARD_PATH.length) ?? '';

/** Ferry's error body, plus `error`, which Bull Board's page shows as the title of its toast above `message`. */
function refuse(reply: FastifyReply, err: FerryError): FastifyReply {
  return reply.status(err.httpStatus).send({ code: err.code, message: err.message, error: err.code });
}

export const dashboard: FastifyPluginAsync<DashboardOptions> = async (app, options) => {
  const serverAdapter = new FastifyAdapter();
  serverAdapter.setBasePath(DASHBOARD_PATH);
  const readOnlyMode = options.readOnly;
  // Retrying a completed download is not Ferry's (the API refuses it too): this hides Bull Board's button, retryDownloadsAsTheApiDoes refuses the request.
  // Spread in: @bull-board/api 9.10 reads the option, but its options type does not list it.
  const noCompletedRetries = { allowCompletedRetries: false };
  const downloads = new BullMQAdapter(options.queue, {
    displayName: 'Downloads',
    description:
      'Cancelled downloads are listed among the failed, titled "cancelled" ("Retry all" leaves them); paused ones among the delayed, titled "paused". Enqueue, change and resume downloads through the API.',
    readOnlyMode,
    ...noCompletedRetries,
  });
  downloads.setFormatter('name', downloadTitle);
  downloads.setFormatter('progress', downloadProgressView);
  const callbacks = new BullMQAdapter(options.callbacks, {
    displayName: 'Callbacks',
    description: 'Webhook deliveries; a failed one can be retried here.',
    readOnlyMode,
  });
  callbacks.setFormatter('name', callbackTitle);
  for (const adapter of [downloads, callbacks]) {
    adapter.setFormatter('data', redactJobData);
    adapter.setFormatter('returnValue', redactJobData);
  }
  createBullBoard({
    queues: [downloads, callbacks],
    serverAdapter,
    options: { uiConfig: { boardTitle: 'Ferry', hideDocsLink: true }, handlerHooks: { after: dashboardAnswers(options.control) } },
  });

  app.addHook('onRequest', async (request: FastifyRequest, reply: FastifyReply) => {
    const refused = options.authFailures.refusal(request.ip);
    if (refused !== undefined) return sendError(reply, refused);
    const given = basicCredentials(request.headers.authorization);
    const userOk = given !== undefined && sameSecret(given.user, options.user);
    const passwordOk = given !== undefined && sameSecret(given.password, options.password);
    if (userOk && passwordOk) {
      if (SAFE_METHODS.has(request.method)) return;
      if (options.readOnly) {
        return refuse(reply, new FerryError('FERRY_ERR_READ_ONLY', 'the dashboard is read-only (FERRY_DASHBOARD_READ_ONLY=true)'));
      }
      const reason = crossSiteReason(request);
      if (reason !== undefined) {
        return refuse(
          reply,
          new FerryError(
            'FERRY_ERR_CROSS_SITE',
            `refused a request to change jobs that is not known to come from the dashboard's own page: ${reason}. Scripts: send Origin: ${request.protocol}://${request.host}`,
          ),
        );
      }
      // Unknown paths are left to the 404 handler.
      const action = request.routeOptions.url === undefined ? undefined : refusedAction(request.method, boardRoute(request));
      if (action !== undefined) return refuse(reply, action);
      return;
    }
    if (given !== undefined) options.authFailures.recordFailure(request.ip);
    void reply.header('www-authenticate', 'Basic realm="Ferry dashboard", charset="UTF-8"');
    return refuse(reply, new FerryError('FERRY_ERR_UNAUTHORIZED', 'the dashboard needs the credentials from FERRY_DASHBOARD_USER / FERRY_DASHBOARD_PASSWORD'));
  });
  app.addHook('preHandler', async (request: FastifyRequest, reply: FastifyReply) => {
    try {
      return await retryDownloadsAsTheApiDoes(options, boardRoute(request), request, reply);
    } catch (err) {
      if (err instanceof FerryError) return refuse(reply, err);
      throw err;
    }
  });
  await app.register(serverAdapter.registerPlugin(), { prefix: DASHBOARD_PATH });
};
