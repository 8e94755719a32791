import { pino, type Logger, type LoggerOptions } from 'pino';
import type { Config } from './config.js';
import { REDACTED, redactUrlsIn } from './redact-url.js';

export type { Logger } from 'pino';

/**
 * Request headers carry callers' credentials (Authorization, cookies, tokens):
 * their values never reach a log line, wherever they are nested.
 */
const REDACTED_PATHS = ['headers.*', '*.headers.*', '*.*.headers.*', 'req.headers.authorization', 'req.headers.cookie'];

// Deep enough for any object Ferry logs; deeper values are left as they are.
const MAX_DEPTH = 4;

const isPlain = (value: object): boolean => Array.isArray(value) || Object.getPrototypeOf(value) === Object.prototype || Object.getPrototypeOf(value) === null;

/**
 * A log line's fields with the URLs in their text redacted, as the dashboard shows
 * them: download and callback URLs carry credentials in the query (presigned URLs,
 * tokens), in fields and in failure messages alike; an error is copied with its
 * message, stack and cause redacted.
 */
function redactUrlsInFields(value: unknown, depth = 0): unknown {
  if (typeof value === 'string') return redactUrlsIn(value);
  if (value === null || typeof value !== 'object' || depth > MAX_DEPTH) return value;
  if (value instanceof Error) {
    // A copy of the same class, so pino names its type as before.
    const copy = Object.assign(Object.create(Object.getPrototypeOf(value) as object) as Error, redactUrlsInFields({ ...value }, depth + 1));
    for (const key of ['message', 'stack', 'cause'] as const) {
      if (key in value) Object.defineProperty(copy, key, { value: redactUrlsInFields(value[key], depth + 1), writable: true, configurable: true });
    }
    return copy;
  }
  if (!isPlain(value)) return value;
  // Copied only where a URL was redacted: most lines have none, and a copy per line would cost every log call.
  if (Array.isArray(value)) {
    const items = value.map((item) => redactUrlsInFields(item, depth + 1));
    return items.some((item, i) => item !== value[i]) ? items : value;
  }
  const entries = Object.entries(value);
  const redacted = entries.map(([key, item]) => [key, redactUrlsInFields(item, depth + 1)] as const);
  return redacted.some(([, item], i) => item !== entries[i]![1]) ? Object.fromEntries(redacted) : value;
}

/** Pino's options for every Ferry process (the API's Fastify logger included): level, format and what never reaches a line. */
export function loggerOptions(config: Pick<Config, 'log'>, name?: string): LoggerOptions {
  return {
    ...(name === undefined ? {} : { name }),
    level: config.log.level,
    redact: { paths: REDACTED_PATHS, censor: REDACTED },
    formatters: { log: (fields) => redactUrlsInFields(fields) as Record<string, unknown> },
    hooks: {
      logMethod(args, method) {
        method.apply(this, args.map((arg: unknown) => (typeof arg === 'string' ? redactUrlsIn(arg) : arg)) as Parameters<typeof method>);
      },
    },
    ...(config.log.format === 'pretty'
      ? { transport: { target: 'pino-pretty', options: { colorize: true, ignore: 'pid,hostname', translateTime: 'HH:MM:ss.l' } } }
      : {}),
  };
}

export function createLogger(config: Pick<Config, 'log'>, name: string): Logger {
  return pino(loggerOptions(config, name));
}
