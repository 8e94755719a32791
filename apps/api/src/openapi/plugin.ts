import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import type { FastifyPluginAsync } from 'fastify';
import type { OpenAPIV3 } from 'openapi-types';
import { buildOpenApiDocument } from './document.js';

const DOCS_PATH = '/docs';
const OPENAPI_PATH = '/openapi.json';

// Swagger UI's assets are served from here (no CDN); its logo is a data: URL, and it sets a few inline styles.
// Scripts stay 'self' only: the page runs no inline script.
const DOCS_CSP = {
  'default-src': "'self'",
  'img-src': "'self' data:",
  'style-src': "'self' 'unsafe-inline'",
  'object-src': "'none'",
  'base-uri': "'self'",
  'form-action': "'self'",
  'frame-ancestors': "'self'",
};

/** The OpenAPI document at /openapi.json and Swagger UI at /docs; both public, like the API's own description should be. */
export const openApiDocs: FastifyPluginAsync = async (app) => {
  const document = buildOpenApiDocument();
  // @fastify/swagger's static-document type stops at OpenAPI 3.0; it serves a 3.1 document unchanged.
  await app.register(swagger, { mode: 'static', specification: { document: document as unknown as OpenAPIV3.Document } });
  await app.register(swaggerUi, {
    routePrefix: DOCS_PATH,
    staticCSP: DOCS_CSP,
    theme: { title: 'Ferry API' },
    uiConfig: { docExpansion: 'list', displayRequestDuration: true },
  });
  app.get(OPENAPI_PATH, async () => document);
};
