import type { FastifyRequest } from 'fastify';

/** The API key name a request was made with: the owner of what it creates and the only one who sees it. */
export function ownerOf(request: FastifyRequest): string {
  if (request.apiKey === undefined) throw new Error('routes that own resources must be registered behind requireApiKey');
  return request.apiKey.name;
}
