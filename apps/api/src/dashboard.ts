import { timingSafeEqual, createHash } from 'node:crypto';
import { createBullBoard } from '@bull-board/api';
import { BullMQAdapter } from '@bull-board/api/bullMQAdapter';
import { FastifyAdapter } from '@bull-board/fastify';
import type { Queue } from 'bullmq';
import type { FastifyPluginAsync, FastifyReply, FastifyRequest } from 'fastify';
import { FerryError } from '@ferry/core';
import { sendError } from './errors.js';

export const DASHBOARD_PATH = '/admin/queues';

export interface DashboardOptions {
  readonly queue: Queue;
  readonly user: string;
  readonly password: string;
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
  if (data === null || typeof data !== 'object' || !('headers' in data)) return data;
  const headers = (data as { headers?: unknown }).headers;
  if (headers === null || typeof headers !== 'object') return data;
  return { ...data, headers: Object.fromEntries(Object.keys(headers).map((name) => [name, '[redacted]'])) };
}

export const dashboard: FastifyPluginAsync<DashboardOptions> = async (app, options) => {
  const serverAdapter = new FastifyAdapter();
  serverAdapter.setBasePath(DASHBOARD_PATH);
  const adapter = new BullMQAdapter(options.queue, { displayName: 'Downloads' });
  adapter.setFormatter('data', redactJobData);
  createBullBoard({ queues: [adapter], serverAdapter, options: { uiConfig: { boardTitle: 'Ferry' } } });

  app.addHook('onRequest', async (request: FastifyRequest, reply: FastifyReply) => {
    const given = basicCredentials(request.headers.authorization);
    const userOk = given !== undefined && sameSecret(given.user, options.user);
    const passwordOk = given !== undefined && sameSecret(given.password, options.password);
    if (userOk && passwordOk) return;
    void reply.header('www-authenticate', 'Basic realm="Ferry dashboard", charset="UTF-8"');
    return sendError(
      reply,
      new FerryError('FERRY_ERR_UNAUTHORIZED', 'the dashboard needs the credentials from FERRY_DASHBOARD_USER / FERRY_DASHBOARD_PASSWORD'),
    );
  });
  await app.register(serverAdapter.registerPlugin(), { prefix: DASHBOARD_PATH });
};
