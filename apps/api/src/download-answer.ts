import type { DownloadAccepted } from '@ferry/contract';

/** What the POST and control routes answer: 200 when the download already is as asked, 202 when it is on its way. */
export interface DownloadAnswer {
  readonly status: 200 | 202;
  readonly body: DownloadAccepted;
}

export const downloadAnswer = (status: DownloadAnswer['status'], download: { id: string; url: string }, state: DownloadAccepted['state']): DownloadAnswer => ({
  status,
  body: { id: download.id, state, url: download.url },
});
