import { beforeAll, describe, expect, it } from 'vitest';
import { serveFile } from '../support/origin.js';
import { useStack } from '../support/stack.js';

const stack = useStack({ workers: 1 });

// Names of BullMQ's and Ferry's own keys beside the jobs' and batches' (the ones below exist once a download has run).
const KEY_NAMES = [
  'events',
  'id',
  'meta',
  'wait',
  'active',
  'completed',
  'failed',
  'delayed',
  'paused',
  'prioritized',
  'priority',
  'marker',
  'pc',
  'stalled',
  'stalled-check',
  'limiter',
  'metrics',
  'repeat',
  'de',
  'ferry',
];

let downloadId: string;
let batchId: string;
/** Ids that name some other Redis key under the job or batch prefix, and others that cannot be ids at all. */
let ids: string[];

beforeAll(async () => {
  const file = await stack.origin.randomFile('ids.bin', 1024);
  downloadId = await stack.ferry.enqueue({ url: stack.origin.route('/ids.bin', serveFile(file)) });
  await stack.ferry.waitFor(downloadId);
  const batch = await stack.ferry.request<{ id: string }>('POST', '/v1/batches', {
    downloads: [{ url: stack.origin.route('/ids-batch.bin', serveFile(file)) }],
  });
  batchId = batch.body.id;
  ids = [
    ...KEY_NAMES,
    `${downloadId}:logs`,
    `${downloadId}:lock`,
    `${batchId}:members`,
    `${batchId}:outcomes`,
    'ferry:owner:test',
    'x'.repeat(200),
    downloadId.toUpperCase(),
  ];
});

const routes = (id: string): Array<[string, string]> => [
  ['GET', `/v1/downloads/${id}`],
  ['DELETE', `/v1/downloads/${id}`],
  ['POST', `/v1/downloads/${id}/pause`],
  ['POST', `/v1/downloads/${id}/resume`],
  ['POST', `/v1/downloads/${id}/retry`],
  ['GET', `/v1/downloads/${id}/content`],
  ['GET', `/v1/downloads/${id}/events`],
  ['GET', `/v1/batches/${id}`],
  ['DELETE', `/v1/batches/${id}`],
  ['GET', `/v1/batches/${id}/events`],
];

describe('an id that is not one Ferry makes', () => {
  it('answers 404 FERRY_ERR_NOT_FOUND on every download and batch route, even when it names another Redis key', async () => {
    const answers: string[] = [];
    for (const id of ids) {
      for (const [method, path] of routes(encodeURIComponent(id))) {
        const response = await stack.ferry.request<{ code?: string }>(method, path);
        answers.push(`${method} ${path} → ${response.status} ${response.body.code ?? ''}`);
      }
    }
    expect(answers.filter((a) => !a.endsWith('→ 404 FERRY_ERR_NOT_FOUND'))).toEqual([]);
  });

  it('still finds the real download and batch', async () => {
    expect((await stack.ferry.request('GET', `/v1/downloads/${downloadId}`)).status).toBe(200);
    expect((await stack.ferry.request('GET', `/v1/batches/${batchId}`)).status).toBe(200);
  });
});
