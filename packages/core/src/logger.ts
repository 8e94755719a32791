import { pino, type Logger } from 'pino';
import type { Config } from './config.js';

export type { Logger } from 'pino';

/**
 * Request headers carry callers' credentials (Authorization, cookies, tokens):
 * their values never reach a log line, wherever they are nested.
 */
export const REDACTED_PATHS = ['headers.*', '*.headers.*', '*.*.headers.*', 'req.headers.authorization', 'req.headers.cookie'];

export function createLogger(config: Pick<Config, 'log'>, name: string): Logger {
  return pino({
    name,
    level: config.log.level,
    redact: { paths: REDACTED_PATHS, censor: '[redacted]' },
    ...(config.log.format === 'pretty'
      ? { transport: { target: 'pino-pretty', options: { colorize: true, ignore: 'pid,hostname', translateTime: 'HH:MM:ss.l' } } }
      : {}),
  });
}
