import { ENDED_STATES, FerryError } from '@ferry/contract';
import { type Storage, type StoredReader } from '@ferry/storage';
import { StoredDownload } from '@ferry/engine';
import { type LoadedDownload } from '@ferry/core';
import { type StoredFileMeta } from './serve-stored-file.js';

/** Opens the stored file of `owner`'s completed download, or says why it has none. */
export async function openDownloadContent(
  storage: Storage,
  owner: string,
  { status, job }: LoadedDownload,
): Promise<{ readonly reader: StoredReader; readonly meta: StoredFileMeta }> {
  if (status.result === null) {
    // An ended download without a result will not get one by waiting: NOT_READY would tell the caller to wait.
    if (ENDED_STATES.has(status.state)) {
      throw new FerryError(
        'FERRY_ERR_WRONG_STATE',
        `download ${status.id} is ${status.state}, so it has no content and will get none unless it is retried (POST /v1/downloads/${status.id}/retry)`,
      );
    }
    throw new FerryError('FERRY_ERR_NOT_READY', `download ${status.id} is ${status.state}; its content is available once it is completed`);
  }
  const { result } = status;
  // Only the very bytes the status describes: a file since replaced under the same name is another download's.
  const opened = await storage.openStored({
    namespace: owner,
    location: result.location,
    version: StoredDownload.safeParse(job.returnvalue).data?.storedVersion,
    sha256: result.sha256,
  });
  if (!opened.found) {
    throw new FerryError(
      'FERRY_ERR_NOT_FOUND',
      opened.why === 'missing'
        ? `the file of download ${status.id} is no longer in storage`
        : `the file of download ${status.id} was replaced in storage since it completed (by a later download of the same name with onConflict overwrite, or by hand); retry the download to store it again`,
    );
  }
  return {
    reader: opened.reader,
    meta: { etag: `"${result.sha256}"`, contentType: result.contentType ?? 'application/octet-stream', filename: result.filename },
  };
}
