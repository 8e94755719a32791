import type { FastifyRequest } from 'fastify';
import { FerryError } from '@ferry/contract';

/**
 * Bull Board routes (as @bull-board/api 9.10 names them) that would write job
 * data the API never validated: a job added here skips every check and can
 * name any owner, and an edit saves the data as the board shows it, with
 * request headers as "[redacted]". Bull Board has no option to hide these two
 * actions alone (only readOnlyMode, which hides every action), so the buttons
 * stay and the server refuses them.
 */
const REFUSED_ROUTES: ReadonlyMap<string, string> = new Map([
  [
    'POST /api/queues/:queueName/add',
    "the dashboard does not add or duplicate jobs: they would skip the API's checks and could name any owner. Enqueue with POST /v1/downloads",
  ],
  [
    'PATCH /api/queues/:queueName/:jobId/update-data',
    'the dashboard does not edit job data: it would save the data as shown, request headers as "[redacted]". To change a download, cancel it and enqueue it again with POST /v1/downloads',
  ],
]);

/**
 * The routes that change things which the dashboard serves, each read against
 * Ferry's contract: they move, retry (see retryDownloadsAsTheApiDoes), reorder
 * or delete jobs, or pause and limit whole queues, and none writes job data.
 * Any other (a route a later Bull Board adds, job schedulers, which Ferry does
 * not use) is refused until someone has read it.
 */
const SERVED_ROUTES: ReadonlySet<string> = new Set([
  'PUT /api/queues/pause',
  'PUT /api/queues/resume',
  'PUT /api/queues/:queueName/pause',
  'PUT /api/queues/:queueName/resume',
  'PUT /api/queues/:queueName/concurrency',
  'PUT /api/queues/:queueName/rate-limit',
  'PUT /api/queues/:queueName/rate-limit/release',
  'PUT /api/queues/:queueName/retry/:queueStatus',
  'PUT /api/queues/:queueName/promote',
  'PUT /api/queues/:queueName/clean/:queueStatus',
  'PUT /api/queues/:queueName/empty',
  'PUT /api/queues/:queueName/obliterate',
  'PUT /api/queues/:queueName/:jobId/retry',
  'PUT /api/queues/:queueName/:jobId/promote',
  'PUT /api/queues/:queueName/:jobId/clean',
  'PATCH /api/queues/:queueName/:jobId/delay',
  'PATCH /api/queues/:queueName/:jobId/priority',
]);

/** The refusal for a state-changing request to a Bull Board route (its path below the dashboard's), if the dashboard must not serve it. */
export function refusedAction(method: string, route: string): FerryError | undefined {
  const action = `${method} ${route}`;
  const message = REFUSED_ROUTES.get(action) ?? (SERVED_ROUTES.has(action) ? undefined : `the dashboard does not offer ${action}`);
  return message === undefined ? undefined : new FerryError('FERRY_ERR_DASHBOARD_REFUSED', message);
}

// Hosts, not origins: behind a proxy that ends TLS the page is https while this server sees http; one host:port serves one scheme.
function isHost(url: string, host: string): boolean {
  try {
    return new URL(url).host === host;
  } catch {
    return false;
  }
}

/**
 * Why a request that changes jobs is not known to come from the dashboard's
 * own page; undefined when it is. Browsers send Basic credentials with
 * cross-site requests too, so the credentials alone prove nothing. The
 * evidence, strongest first: Sec-Fetch-Site (pages cannot forge it), then
 * Origin (`null` from privacy-minded pages counts as foreign), then Referer
 * (older browsers send it where they omit Origin). A request with none of
 * them is refused as well: a page in an old browser with a no-referrer policy
 * can send a form POST that carries none, while a script can simply name the
 * dashboard's origin, which the message tells it to do.
 */
export function crossSiteReason(request: FastifyRequest): string | undefined {
  const site = request.headers['sec-fetch-site'];
  if (site !== undefined && site !== 'same-origin') return `Sec-Fetch-Site is ${site}`;
  const { origin, referer } = request.headers;
  if (origin !== undefined) return isHost(origin, request.host) ? undefined : `Origin ${origin} is not this dashboard`;
  if (referer !== undefined) return isHost(referer, request.host) ? undefined : `Referer ${referer} is not this dashboard`;
  return site === 'same-origin' ? undefined : 'it names neither Origin nor Referer';
}
