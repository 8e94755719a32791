import type { FastifyReply } from 'fastify';
import { attachmentDisposition } from '@ferry/engine';
import { type StoredReader } from '@ferry/storage';
import { type StoredFileMeta } from './serve-stored-file.js';

/**
 * Answers a GET for a stored file (which the caller opened and checked: its
 * owner, its version) with a 307 to a presigned URL of it. `no-store`: the URL
 * is a credential with a lifetime, no cache may hand it to anyone else or
 * after it expired. The URL is not logged: its query is the signature.
 */
export async function redirectToStoredFile(reply: FastifyReply, reader: StoredReader, meta: StoredFileMeta, expiresInSeconds: number): Promise<FastifyReply> {
  try {
    // Config refuses FERRY_S3_CONTENT=redirect for a storage without URLs.
    if (reader.presign === undefined) throw new Error('this storage cannot presign URLs: FERRY_S3_CONTENT=redirect needs FERRY_STORAGE=s3');
    const url = await reader.presign({ expiresInSeconds, contentType: meta.contentType, contentDisposition: attachmentDisposition(meta.filename) });
    return await reply.status(307).header('location', url).header('cache-control', 'no-store').send();
  } finally {
    await reader.close();
  }
}
