import { z } from 'zod';
import {
  BatchAccepted,
  BatchCounts,
  BatchMember,
  BatchProgressEvent,
  BatchRequest,
  BatchState,
  BatchStatus,
  DownloadAccepted,
  DownloadEvent,
  DownloadFailure,
  DownloadList,
  DownloadProgress,
  DownloadRequest,
  DownloadResult,
  DownloadState,
  DownloadStatus,
  ErrorBody,
} from '@ferry/contract';
import type { OpenAPIV3_1 } from 'openapi-types';

type SchemaObject = OpenAPIV3_1.SchemaObject;

/** Request bodies, as callers send them: fields with defaults are optional, checksums before normalising. */
const REQUEST_SCHEMAS: Readonly<Record<string, z.ZodType>> = { DownloadRequest, BatchRequest };

/** Responses and events, as the API sends them. Sub-schemas listed here become `$ref`s wherever they appear. */
const RESPONSE_SCHEMAS: Readonly<Record<string, z.ZodType>> = {
  DownloadAccepted,
  DownloadStatus,
  DownloadList,
  DownloadState,
  DownloadProgress,
  DownloadResult,
  DownloadFailure,
  DownloadEvent,
  BatchAccepted,
  BatchStatus,
  BatchState,
  BatchCounts,
  BatchMember,
  BatchProgressEvent,
  ErrorBody,
};

const componentRef = (name: string): string => `#/components/schemas/${name}`;

const jsonSchemaOptions = {
  target: 'draft-2020-12',
  // zod spells `format: date-time` out again as a long pattern; the format says it.
  override: ({ jsonSchema }: { jsonSchema: Record<string, unknown> }) => {
    if (jsonSchema['format'] === 'date-time') delete jsonSchema['pattern'];
  },
} as const;

/** `$schema` is the document's (OpenAPI 3.1 schemas are JSON Schema 2020-12); zod's `$id`s are only the refs' targets. */
function withoutIds(schema: Record<string, unknown>): SchemaObject {
  return Object.fromEntries(Object.entries(schema).filter(([key]) => key !== '$schema' && key !== '$id')) as SchemaObject;
}

function generate(schemas: Readonly<Record<string, z.ZodType>>, io: 'input' | 'output'): Record<string, SchemaObject> {
  const registry = z.registry<{ id: string }>();
  for (const [id, schema] of Object.entries(schemas)) registry.add(schema, { id });
  const generated = z.toJSONSchema(registry, { ...jsonSchemaOptions, io, uri: componentRef });
  return Object.fromEntries(Object.entries(generated.schemas).map(([id, schema]) => [id, withoutIds(schema)]));
}

/** `components.schemas`: every named schema, generated from the zod schemas the API validates and answers with. */
export function componentSchemas(): Record<string, SchemaObject> {
  return { ...generate(REQUEST_SCHEMAS, 'input'), ...generate(RESPONSE_SCHEMAS, 'output') };
}

/** A `$ref` to a named schema; a schema the table uses must be named above. */
export function refTo(schema: z.ZodType): OpenAPIV3_1.ReferenceObject {
  const name = [...Object.entries(REQUEST_SCHEMAS), ...Object.entries(RESPONSE_SCHEMAS)].find(([, named]) => named === schema)?.[0];
  if (name === undefined) throw new Error('the OpenAPI table uses a schema that schemas.ts does not name');
  return { $ref: componentRef(name) };
}

/** A query schema, as callers send it: one property per query parameter. */
export function querySchema(schema: z.ZodObject): SchemaObject & { properties: Record<string, SchemaObject>; required?: string[] } {
  return withoutIds(z.toJSONSchema(schema, { ...jsonSchemaOptions, io: 'input' }) as Record<string, unknown>) as SchemaObject & {
    properties: Record<string, SchemaObject>;
    required?: string[];
  };
}
