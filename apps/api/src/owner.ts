import type { Queue } from 'bullmq';
import type { FastifyRequest } from 'fastify';
import { FerryError } from '@ferry/contract';
import { isId, loadDownloadStatus, type BatchRecord, type BatchStore, type DownloadJob, type LoadedDownload, type RedisClient } from '@ferry/core';

/** The API key name a request was made with: the owner of what it creates and the only one who sees it. */
export function ownerOf(request: FastifyRequest): string {
  if (request.apiKey === undefined) throw new Error('routes that own resources must be registered behind requireApiKey');
  return request.apiKey.name;
}

export const downloadNotFound = (id: string): FerryError =>
  new FerryError('FERRY_ERR_NOT_FOUND', `no download with id ${id}: it never existed or was removed by retention`);

const batchNotFound = (id: string): FerryError => new FerryError('FERRY_ERR_NOT_FOUND', `no batch with id ${id}: it never existed or was removed by retention`);

/** Whether `owner` made the download; another key's job is treated exactly like a missing one. */
export const ownedBy = (loaded: LoadedDownload | undefined, owner: string): loaded is LoadedDownload =>
  loaded !== undefined && (loaded.job.data as Partial<DownloadJob>).owner === owner;

/** The download if `owner` made it, or a 404 error. */
export async function loadDownloadOf(owner: string, queue: Queue, redis: RedisClient, id: string): Promise<LoadedDownload> {
  // Text that is no id of ours never reaches Redis, where it could name another key.
  if (!isId(id)) throw downloadNotFound(id);
  const loaded = await loadDownloadStatus(queue, redis, id);
  if (!ownedBy(loaded, owner)) throw downloadNotFound(id);
  return loaded;
}

/** The caller's own download, or a 404 error. */
export const loadOwnDownload = (request: FastifyRequest, queue: Queue, redis: RedisClient, id: string): Promise<LoadedDownload> =>
  loadDownloadOf(ownerOf(request), queue, redis, id);

/** The batch if `owner` made it, or a 404 error: another key's answers exactly like a missing one. */
export async function loadBatchOf(owner: string, batches: BatchStore, id: string): Promise<BatchRecord> {
  if (!isId(id)) throw batchNotFound(id);
  const batch = await batches.load(id);
  if (batch === undefined || batch.owner !== owner) throw batchNotFound(id);
  return batch;
}

/** The caller's own batch, or a 404 error. */
export const ownBatch = (request: FastifyRequest, batches: BatchStore, id: string): Promise<BatchRecord> => loadBatchOf(ownerOf(request), batches, id);
