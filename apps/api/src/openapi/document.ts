import { readFileSync } from 'node:fs';
import type { OpenAPIV3_1 } from 'openapi-types';
import { errorResponses, responseHeaders } from './error-responses.js';
import { QUERY_DESCRIPTIONS, REQUEST_HEADERS, RESPONSE_HEADERS } from './headers.js';
import type { Operation, SuccessBody, SuccessResponse } from './operation.js';
import { OPERATIONS } from './operations.js';
import { componentSchemas, querySchema, refTo } from './schemas.js';

const { version } = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string };

const DESCRIPTION = [
  'Ferry downloads files for you, durably: each request becomes a job in Redis that workers run, retry and resume.',
  '',
  'Every `/v1` route needs `Authorization: Bearer <api key>`; a key sees only its own downloads and batches ' +
    "(another key's id answers exactly like a missing one: 404).",
  '',
  'Errors answer `{ code, message, issues? }`. Match on `code` (`FERRY_ERR_…`), never on `message`; ' +
    'each code always has the same HTTP status, and each route lists the codes it may answer under that status.',
].join('\n');

const TAGS: OpenAPIV3_1.TagObject[] = [
  { name: 'downloads', description: 'One download: enqueue, follow, control, fetch its file.' },
  { name: 'batches', description: 'Many downloads enqueued together, followed as one.' },
  { name: 'health', description: 'For load balancers and orchestrators; no API key.' },
];

function content(body: SuccessBody): Record<string, OpenAPIV3_1.MediaTypeObject> {
  if ('json' in body) return { 'application/json': { schema: refTo(body.json), ...(body.example === undefined ? {} : { example: body.example }) } };
  if ('events' in body) {
    const events = body.events.map(refTo);
    // The schema is one event's `data:` JSON; the stream is many such events, as the operation describes.
    return { 'text/event-stream': { schema: events.length === 1 ? events[0] : { oneOf: events }, example: body.example } };
  }
  return { '*/*': { schema: { description: "The file's bytes, in the Content-Type the origin sent." } } };
}

function successResponse({ description, body, headers }: SuccessResponse): OpenAPIV3_1.ResponseObject {
  return { description, ...responseHeaders(headers), ...(body === undefined ? {} : { content: content(body) }) };
}

function parameters(operation: Operation): Array<OpenAPIV3_1.ParameterObject | OpenAPIV3_1.ReferenceObject> {
  const thing = operation.tag === 'batches' ? 'batch' : 'download';
  const inPath = [...operation.path.matchAll(/\{(\w+)\}/g)].map(([, name]): OpenAPIV3_1.ParameterObject => ({
    name: name!,
    in: 'path',
    required: true,
    description: `The ${thing}'s id, as its POST answered it; any other text is 404.`,
    schema: { type: 'string', format: 'uuid' },
  }));
  const query = operation.query === undefined ? undefined : querySchema(operation.query);
  const inQuery = Object.entries(query?.properties ?? {}).map(([name, schema]): OpenAPIV3_1.ParameterObject => ({
    name,
    in: 'query',
    required: query?.required?.includes(name) ?? false,
    description: QUERY_DESCRIPTIONS[name],
    // openapi-types gives a 3.1 parameter 3.0's schema type.
    schema: schema as OpenAPIV3_1.ParameterObject['schema'],
  }));
  const headers = (operation.headers ?? []).map((name) => ({ $ref: `#/components/parameters/${name}` }));
  return [...inPath, ...inQuery, ...headers];
}

function operationObject(operation: Operation): OpenAPIV3_1.OperationObject {
  return {
    operationId: operation.operationId,
    tags: [operation.tag],
    summary: operation.summary,
    description: operation.description,
    ...(operation.public ? { security: [] } : {}),
    parameters: parameters(operation),
    ...(operation.body === undefined ? {} : { requestBody: { required: true, content: { 'application/json': { schema: refTo(operation.body) } } } }),
    responses: {
      ...Object.fromEntries(Object.entries(operation.responses).map(([status, response]) => [status, successResponse(response)])),
      ...errorResponses(operation),
    },
  };
}

/** The OpenAPI 3.1 document of Ferry's API, generated from the operations table and the zod schemas. */
export function buildOpenApiDocument(): OpenAPIV3_1.Document {
  const paths: OpenAPIV3_1.PathsObject = {};
  for (const operation of OPERATIONS) paths[operation.path] = { ...paths[operation.path], [operation.method]: operationObject(operation) };
  return {
    openapi: '3.1.0',
    info: { title: 'Ferry', version, description: DESCRIPTION },
    tags: TAGS,
    security: [{ apiKey: [] }],
    paths,
    components: {
      schemas: componentSchemas(),
      parameters: { ...REQUEST_HEADERS },
      headers: { ...RESPONSE_HEADERS },
      securitySchemes: {
        apiKey: {
          type: 'http',
          scheme: 'bearer',
          description: '`Authorization: Bearer <api key>`. `npm start` prints a key; operators make them with `npm run api-key -- <name>`.',
        },
      },
    },
  };
}
