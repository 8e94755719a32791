import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import fastifyStatic from '@fastify/static';
import type { FastifyPluginAsync } from 'fastify';
import { FerryError } from '@ferry/contract';
import { sendError } from './errors.js';

/**
 * The page's policy: its own scripts, styles and API only, nothing inline, no frames, no plugins.
 * It holds an API key, so an injected script must have nowhere to run and nowhere to send it.
 * Set on the page's files alone: Swagger UI (/docs) and Bull Board keep the policies they need.
 */
const PAGE_CSP = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self'",
  "connect-src 'self'",
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'",
].join('; ');

const PAGE_HEADERS: Readonly<Record<string, string>> = {
  'content-security-policy': PAGE_CSP,
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
  'x-frame-options': 'DENY',
  'cross-origin-opener-policy': 'same-origin',
  'cross-origin-resource-policy': 'same-origin',
  'permissions-policy': 'camera=(), microphone=(), geolocation=()',
};

/** apps/web's built files, found through the workspace package (the API imports none of its code). */
export function webPageRoot(): string {
  return path.join(path.dirname(createRequire(import.meta.url).resolve('@ferry/web/package.json')), 'dist');
}

/** The web page (apps/web) at /: static files, with a strict policy; the API itself stays behind bearer keys. */
export const webPage: FastifyPluginAsync<{ root: string }> = async (app, { root }) => {
  if (!existsSync(path.join(root, 'index.html'))) {
    app.get('/', (_request, reply) =>
      sendError(
        reply,
        new FerryError(
          'FERRY_ERR_NOT_FOUND',
          `the web page is not built (no ${root}/index.html): run \`npm run build\`; the API is at /v1 and described at /docs`,
        ),
      ),
    );
    return;
  }
  await app.register(fastifyStatic, {
    root,
    prefix: '/',
    // Only the files there at start-up get routes: any other path stays the API's 404.
    wildcard: false,
    decorateReply: false,
    setHeaders: (res, file) => {
      for (const [name, value] of Object.entries(PAGE_HEADERS)) void res.header(name, value);
      // Vite names assets by their hash, so they never change; index.html must be asked for again after an upgrade.
      void res.header('cache-control', file.includes(`${path.sep}assets${path.sep}`) ? 'public, max-age=31536000, immutable' : 'no-cache');
    },
  });
};
