import type { FastifyServerOptions } from 'fastify';
import type { Config } from '@ferry/core';

/** FERRY_API_TRUST_PROXY as Fastify's `trustProxy` option, which types no hop count: hop `i` counts back from the connection. */
export function trustProxyOption(trust: Config['api']['trustProxy']): FastifyServerOptions['trustProxy'] {
  if (typeof trust === 'number') return (_address, hop) => hop < trust;
  return trust === false ? false : [...trust];
}
