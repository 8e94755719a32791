import type { Queue } from 'bullmq';
import type { Redis } from 'ioredis';
import type { FastifyRequest } from 'fastify';
import { FerryError, loadDownloadStatus, type BatchRecord, type BatchStore, type DownloadJob, type LoadedDownload } from '@ferry/core';

/** The API key name a request was made with: the owner of what it creates and the only one who sees it. */
export function ownerOf(request: FastifyRequest): string {
  if (request.apiKey === undefined) throw new Error('routes that own resources must be registered behind requireApiKey');
  return request.apiKey.name;
}

/** The caller's own download, or a 404 error: another key's job answers exactly like a missing one. */
export async function loadOwnDownload(request: FastifyRequest, queue: Queue, redis: Redis, id: string): Promise<LoadedDownload> {
  const loaded = await loadDownloadStatus(queue, redis, id);
  if (loaded === undefined || (loaded.job.data as Partial<DownloadJob>).owner !== ownerOf(request)) {
    throw new FerryError('FERRY_ERR_NOT_FOUND', `no download with id ${id}: it never existed or was removed by retention`);
  }
  return loaded;
}

/** The caller's own batch; another key's answers exactly like a missing one. */
export async function ownBatch(request: FastifyRequest, batches: BatchStore, id: string): Promise<BatchRecord> {
  const batch = await batches.load(id);
  if (batch === undefined || batch.owner !== ownerOf(request)) {
    throw new FerryError('FERRY_ERR_NOT_FOUND', `no batch with id ${id}: it never existed or was removed by retention`);
  }
  return batch;
}
