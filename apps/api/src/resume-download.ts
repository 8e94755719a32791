import { FerryError } from '@ferry/contract';
import { type DownloadControl, type LoadedDownload } from '@ferry/core';
import { downloadAnswer, type DownloadAnswer } from './download-answer.js';

/** Queues a paused download again; it continues from the checkpoint its worker kept when it paused. Other states are refused. */
export async function resumeDownload(control: DownloadControl, { status, job, control: pending }: LoadedDownload): Promise<DownloadAnswer> {
  if (status.state === 'active' && pending === 'pause') {
    throw new FerryError('FERRY_ERR_WRONG_STATE', `download ${status.id} is still being paused by its worker; resume it once its state is paused`);
  }
  if (status.state !== 'paused') {
    throw new FerryError('FERRY_ERR_WRONG_STATE', `download ${status.id} is ${status.state}; only a paused download can be resumed`);
  }
  await control.clear(status.id);
  await job.promote();
  return downloadAnswer(202, status, 'queued');
}
