import { existsSync } from 'node:fs';
import { Validator } from '@seriousme/openapi-schema-validator';
import { Ajv2020 } from 'ajv/dist/2020.js';
import addFormats from 'ajv-formats';
import type { FastifyInstance, HTTPMethods } from 'fastify';
import { chromium } from 'playwright-core';
import { describe, expect, it } from 'vitest';
import { ERROR_CODES, isErrorCode } from '@ferry/contract';
import { API_KEY, bearer, type ApiResponse } from '../support/ferry.js';
import { serveFile } from '../support/origin.js';
import { openSse, type SseEvent } from '../support/sse.js';
import { useStack } from '../support/stack.js';
import { until } from '../support/wait.js';

const stack = useStack({ workers: 1 });
const CHROMIUM = '/usr/bin/chromium';

interface Operation {
  operationId: string;
  summary: string;
  responses: Record<string, { content?: Record<string, { schema: ErrorSchema; examples?: Record<string, unknown> }> }>;
}
interface ErrorSchema {
  allOf?: [unknown, { properties: { code: { enum: string[] } } }];
}
interface OpenApiDocument {
  openapi: string;
  paths: Record<string, Record<string, Operation>>;
  components: { schemas: Record<string, { properties?: Record<string, { enum?: string[] }> }> };
}

async function servedDocument(): Promise<OpenApiDocument> {
  const response = await fetch(`${stack.ferry.baseUrl}/openapi.json`);
  expect(response.status).toBe(200);
  expect(response.headers.get('content-type')).toMatch(/^application\/json/);
  return (await response.json()) as OpenApiDocument;
}

/** `GET /v1/downloads/{id}` for every operation of the document. */
function documentedRoutes(document: OpenApiDocument): string[] {
  return Object.entries(document.paths).flatMap(([path, item]) => Object.keys(item).map((method) => `${method.toUpperCase()} ${path}`));
}

const TREE_LINE = /^((?:│ {3}| {4})*)[├└]── (\S+)(?: \(([A-Z, ]+)\))?$/;

/** What the running app serves, from Fastify's own route tree, with `:id` written `{id}` and the HEAD routes Fastify adds to GETs left out. */
function registeredRoutes(app: FastifyInstance): string[] {
  const parents: string[] = [];
  const routes: string[] = [];
  for (const line of app.printRoutes({ commonPrefix: false }).split('\n')) {
    const match = TREE_LINE.exec(line);
    if (match === null) continue;
    const [, indent = '', segment = '', methods] = match;
    const depth = indent.length / 4;
    parents.length = depth;
    const path = `${parents.join('')}${segment}`;
    parents.push(segment);
    for (const method of methods?.split(', ') ?? []) {
      if (method !== 'HEAD') routes.push(`${method} ${path.replace(/:(\w+)/g, '{$1}')}`);
    }
  }
  return routes;
}

const BASE = 'https://ferry.invalid/openapi.json';

/** Checks real answers against what the document says the route answers with their status: JSON bodies and SSE events against its schemas. */
function responseChecker(document: OpenApiDocument) {
  const ajv = new Ajv2020({ strict: false, allErrors: true });
  addFormats.default(ajv);
  // Refs inside the document are `#/components/…`: with an $id they resolve against the document itself.
  ajv.addSchema({ ...document, $id: BASE });
  function expectMatches(method: string, path: string, status: number, media: string, value: unknown): void {
    const route = `${method.toUpperCase()} ${path} ${status}`;
    const documented = document.paths[path]?.[method]?.responses[String(status)];
    expect(documented, `${route} is documented: ${JSON.stringify(value)}`).toBeDefined();
    expect(Object.keys(documented!.content ?? {}), route).toEqual([media]);
    const pointer = ['paths', path, method, 'responses', String(status), 'content', media, 'schema']
      .map((part) => part.replace(/~/g, '~0').replace(/\//g, '~1'))
      .join('/');
    const validate = ajv.compile({ $ref: `${BASE}#/${pointer}` });
    validate(value);
    expect(validate.errors ?? [], `${route}: ${JSON.stringify(value)}`).toEqual([]);
  }
  return {
    answer(method: string, path: string, response: ApiResponse, status: number): void {
      expect(response.status, `${method.toUpperCase()} ${path}: ${JSON.stringify(response.body)}`).toBe(status);
      expectMatches(method, path, status, 'application/json', response.body);
    },
    async stream(path: string, url: string): Promise<SseEvent[]> {
      const sse = await openSse(url, bearer(API_KEY));
      expect(sse.status).toBe(200);
      expect(sse.contentType).toMatch(/^text\/event-stream/);
      const events: SseEvent[] = [];
      for await (const event of sse.events()) {
        expect(event.event).toBe((event.data as { type: string }).type);
        expectMatches('get', path, 200, 'text/event-stream', event.data);
        events.push(event);
      }
      return events;
    },
  };
}

describe('the OpenAPI document', () => {
  it('is a valid OpenAPI 3.1 document, served without an API key', async () => {
    const document = await servedDocument();
    expect(document.openapi).toMatch(/^3\.1\./);
    const validator = new Validator();
    const result = await validator.validate(document as unknown as Record<string, unknown>);
    expect(result.errors ?? [], JSON.stringify(result.errors, null, 2)).toEqual([]);
    expect(result.valid).toBe(true);
    expect(validator.version).toBe('3.1');
  });

  it('lists exactly the /v1 routes the app serves, with their methods, and the public routes it documents exist', async () => {
    const document = await servedDocument();
    const documented = documentedRoutes(document);
    const registered = registeredRoutes(stack.ferry.app);
    const v1 = (routes: string[]) => new Set(routes.filter((route) => route.split(' ')[1]!.startsWith('/v1/')));
    const [served, described] = [v1(registered), v1(documented)];
    expect(served.size).toBeGreaterThan(0);
    expect(
      [...described].filter((route) => !served.has(route)),
      'documented, but the app does not serve them',
    ).toEqual([]);
    expect(
      [...served].filter((route) => !described.has(route)),
      'served, but not documented',
    ).toEqual([]);
    for (const route of documented) {
      const [method, path] = route.split(' ') as [HTTPMethods, string];
      expect(stack.ferry.app.hasRoute({ method, url: path.replace(/\{(\w+)\}/g, ':$1') }), route).toBe(true);
    }
  });

  it('gives every error response only codes that exist, at the status ERROR_CODES gives them', async () => {
    const document = await servedDocument();
    expect(document.components.schemas['ErrorBody']?.properties?.['code']?.enum).toEqual(Object.keys(ERROR_CODES));
    let checked = 0;
    for (const [path, item] of Object.entries(document.paths)) {
      for (const [method, operation] of Object.entries(item)) {
        for (const [status, response] of Object.entries(operation.responses)) {
          if (Number(status) < 400) continue;
          const json = response.content?.['application/json'];
          const codes = json?.schema.allOf?.[1].properties.code.enum ?? [];
          expect(codes.length, `${method} ${path} ${status} lists its codes`).toBeGreaterThan(0);
          expect(Object.keys(json?.examples ?? {})).toEqual(codes);
          for (const code of codes) {
            expect(isErrorCode(code), code).toBe(true);
            expect(ERROR_CODES[code as keyof typeof ERROR_CODES].httpStatus, `${method} ${path}: ${code}`).toBe(Number(status));
            checked += 1;
          }
        }
        if (path.startsWith('/v1/'))
          expect(Object.keys(operation.responses), `${method} ${path}`).toEqual(expect.arrayContaining(['401', '429', '500', '503']));
      }
    }
    expect(checked).toBeGreaterThan(50);
  });

  it('describes what the API really answers: each status is documented for its route, and each body matches its schema', async () => {
    const check = responseChecker(await servedDocument());
    const expectDocumented = check.answer;
    const { ferry, origin } = stack;
    const file = await origin.randomFile('described.csv', 20_000);
    const created = await ferry.request<{ id: string }>('POST', '/v1/downloads', { url: origin.route('/described.csv', serveFile(file)) });
    expectDocumented('post', '/v1/downloads', created, 202);
    const final = await ferry.waitFor(created.body.id);
    expect(final.state).toBe('completed');
    expectDocumented('get', '/v1/downloads/{id}', await ferry.request('GET', `/v1/downloads/${final.id}`), 200);
    expectDocumented('post', '/v1/downloads/{id}/retry', await ferry.request('POST', `/v1/downloads/${final.id}/retry`), 409);
    expectDocumented(
      'get',
      '/v1/downloads/{id}/content',
      await ferry.request('GET', `/v1/downloads/${final.id}/content`, undefined, { range: 'bytes=50000-' }),
      416,
    );
    expectDocumented('post', '/v1/downloads', await ferry.request('POST', '/v1/downloads', { url: 'ftp://example.com/a' }), 400);
    expectDocumented('post', '/v1/downloads', await ferry.request('POST', '/v1/downloads', { url: 'http://10.0.0.1/a' }), 400);
    expectDocumented(
      'post',
      '/v1/downloads',
      await ferry.request('POST', '/v1/downloads', 'url=x', { 'content-type': 'application/x-www-form-urlencoded' }),
      415,
    );
    expectDocumented('get', '/v1/downloads/{id}', await ferry.request('GET', '/v1/downloads/00000000-0000-0000-0000-000000000000'), 404);
    expectDocumented('get', '/v1/downloads/{id}', await ferry.request('GET', `/v1/downloads/${final.id}`, undefined, { authorization: '' }), 401);
    const delayed = await ferry.request<{ id: string }>('POST', '/v1/downloads', { url: origin.route('/later.csv', serveFile(file)), delayMs: 3_600_000 });
    expectDocumented('post', '/v1/downloads', delayed, 202);
    expectDocumented('get', '/v1/downloads/{id}/content', await ferry.request('GET', `/v1/downloads/${delayed.body.id}/content`), 409);
    expectDocumented('get', '/v1/downloads', await ferry.request('GET', '/v1/downloads?limit=1'), 200);
    expectDocumented('get', '/v1/downloads', await ferry.request('GET', '/v1/downloads?limit=0'), 400);
    expectDocumented('post', '/v1/downloads/{id}/pause', await ferry.request('POST', `/v1/downloads/${delayed.body.id}/pause`), 200);
    expectDocumented('post', '/v1/downloads/{id}/resume', await ferry.request('POST', `/v1/downloads/${delayed.body.id}/resume`), 202);
    expectDocumented('post', '/v1/downloads/{id}/resume', await ferry.request('POST', `/v1/downloads/${delayed.body.id}/resume`), 409);
    const waiting = await ferry.request<{ id: string }>('POST', '/v1/downloads', { url: origin.route('/later.csv', serveFile(file)), delayMs: 3_600_000 });
    expectDocumented('delete', '/v1/downloads/{id}', await ferry.request('DELETE', `/v1/downloads/${waiting.body.id}`), 200);
    expectDocumented('delete', '/v1/downloads/{id}', await ferry.request('DELETE', `/v1/downloads/${final.id}`), 409);
    const events = await check.stream('/v1/downloads/{id}/events', `${ferry.baseUrl}/v1/downloads/${final.id}/events`);
    expect(events.map((event) => event.event)).toEqual(['state', 'completed']);

    const batch = await ferry.request<{ id: string }>('POST', '/v1/batches', {
      downloads: [{ url: origin.route('/described.csv', serveFile(file)) }, { url: origin.route('/later.csv', serveFile(file)), delayMs: 3_600_000 }],
    });
    expectDocumented('post', '/v1/batches', batch, 202);
    expectDocumented('post', '/v1/batches', await ferry.request('POST', '/v1/batches', { downloads: [{ url: 'http://10.0.0.1/a' }] }), 400);
    expectDocumented('get', '/v1/batches/{id}', await ferry.request('GET', `/v1/batches/${batch.body.id}?limit=1`), 200);
    expectDocumented('get', '/v1/batches/{id}', await ferry.request('GET', `/v1/batches/${batch.body.id}?limit=0`), 400);
    expectDocumented('get', '/v1/batches/{id}', await ferry.request('GET', '/v1/batches/00000000-0000-0000-0000-000000000000'), 404);
    expectDocumented('delete', '/v1/batches/{id}', await ferry.request('DELETE', `/v1/batches/${batch.body.id}`), 202);
    const batchEvents = await check.stream('/v1/batches/{id}/events', `${ferry.baseUrl}/v1/batches/${batch.body.id}/events`);
    expect(batchEvents.at(-1)?.data).toMatchObject({ type: 'batch', state: 'cancelled' });
  });
});

describe('Swagger UI at /docs', () => {
  it.skipIf(!existsSync(CHROMIUM))(`renders every operation in a real browser, from local assets only (needs ${CHROMIUM})`, async () => {
    const openapi = await servedDocument();
    const browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox'] });
    try {
      const page = await browser.newPage();
      const problems: string[] = [];
      const elsewhere: string[] = [];
      page.on('console', (message) => {
        if (message.type() === 'error') problems.push(message.text());
      });
      page.on('pageerror', (error) => problems.push(error.message));
      page.on('request', (request) => {
        const url = request.url();
        if (!url.startsWith(stack.ferry.baseUrl) && !url.startsWith('data:')) elsewhere.push(url);
      });
      const response = await page.goto(`${stack.ferry.baseUrl}/docs`);
      expect(response?.status()).toBe(200);
      const routes = documentedRoutes(openapi);
      // Polled from outside the page: waitForFunction evaluates a string inside it, which Swagger UI's CSP (no unsafe-eval) refuses.
      await until(async () => (await page.locator('.opblock').count()) >= routes.length, 'Swagger UI to render every operation', 30_000);
      const shown = await page.$$eval('.opblock', (blocks) =>
        blocks.map(
          (block) =>
            `${block.querySelector('.opblock-summary-method')?.textContent} ${block.querySelector('.opblock-summary-path')?.getAttribute('data-path')}`,
        ),
      );
      expect(shown.sort()).toEqual(routes.sort());
      const summaries = await page.$$eval('.opblock-summary-description', (nodes) => nodes.map((node) => node.textContent));
      expect(summaries).toContain('Enqueue a download');
      expect(await page.title()).toBe('Ferry API');
      expect(problems).toEqual([]);
      expect(elsewhere).toEqual([]);
    } finally {
      await browser.close();
    }
  });
});
