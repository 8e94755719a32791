import type { FastifyInstance, FastifyRequest } from 'fastify';
import { FerryError } from '@ferry/contract';

type Done = (err: Error | null, body?: unknown) => void;

// The search below parses about log2(length) prefixes: cheap up to here, seconds of blocked event loop for a 32 MiB batch.
const SEARCHED_LENGTH = 256 * 1024; // characters
type JsonParser = (request: FastifyRequest, body: string, done: Done) => void;

/** Line and column (from 1) of `offset` in `text`. */
function lineAndColumn(text: string, offset: number): string {
  const before = text.slice(0, offset);
  const line = before.split('\n').length;
  return `line ${line}, column ${offset - before.lastIndexOf('\n')} (offset ${offset})${offset >= text.length ? ', where the body ends' : ''}`;
}

/** The error of JSON.parse(text), if any. */
function parseError(text: string): Error | undefined {
  try {
    JSON.parse(text);
    return undefined;
  } catch (err) {
    return err as Error;
  }
}

/** Whether `prefix` could still begin a JSON text: it fails only by ending, if at all. */
function viablePrefix(prefix: string): boolean {
  const err = parseError(prefix);
  if (err === undefined || err.message === 'Unexpected end of JSON input') return true;
  const at = /at position (\d+)/.exec(err.message);
  return at !== null && Number(at[1]) >= prefix.length;
}

/**
 * Says where and why `text` stops being JSON, in the parser's words. V8 gives the
 * position for most mistakes; for an unexpected character it quotes the text
 * instead, so the position is found as the end of the longest prefix that could
 * still begin a JSON text (viability only shrinks with length: a binary search),
 * for bodies up to SEARCHED_LENGTH.
 */
function describeJsonError(text: string): string {
  const err = parseError(text);
  if (err === undefined) return 'it holds a __proto__ or constructor.prototype key, which the API refuses';
  if (err.message === 'Unexpected end of JSON input') return `it ends before the JSON does, at ${lineAndColumn(text, text.length)}`;
  const at = /^(.*) in JSON at position (\d+)/.exec(err.message);
  if (at !== null) return `${at[1]!.charAt(0).toLowerCase()}${at[1]!.slice(1)} at ${lineAndColumn(text, Number(at[2]))}`;
  if (text.length > SEARCHED_LENGTH) {
    const token = /^Unexpected token '(.+?)'/.exec(err.message)?.[1];
    return `unexpected ${token === undefined ? 'character' : JSON.stringify(token)} (its position is not worked out for bodies over ${SEARCHED_LENGTH / 1024} KiB)`;
  }
  let [viable, failing] = [0, text.length];
  while (failing - viable > 1) {
    const middle = Math.floor((viable + failing) / 2);
    if (viablePrefix(text.slice(0, middle))) viable = middle;
    else failing = middle;
  }
  return `unexpected ${JSON.stringify(text.charAt(viable))} at ${lineAndColumn(text, viable)}`;
}

/**
 * Fastify's JSON parser (prototype-poisoning checks included) with one clear
 * message for a body that is not JSON, naming the position; Fastify's own says
 * neither what nor where.
 */
export function useJsonBodyParser(app: FastifyInstance): void {
  const parse = app.getDefaultJsonParser('error', 'error') as JsonParser;
  app.removeContentTypeParser('application/json');
  app.addContentTypeParser('application/json', { parseAs: 'string' }, (request, body, done) =>
    parse(request, body as string, (err, value) => {
      if ((err as { code?: string } | null)?.code !== 'FST_ERR_CTP_INVALID_JSON_BODY') return done(err, value);
      done(new FerryError('FERRY_ERR_VALIDATION', `the body is not valid JSON: ${describeJsonError(body as string)}`, { cause: err }));
    }),
  );
}
