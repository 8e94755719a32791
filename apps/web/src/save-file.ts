import type { FerryClient } from '@ferry/client';
import type { Row } from './rows.js';

/** Types a browser shows without running anything: a stored HTML or SVG file is saved, never opened under Ferry's origin. */
const VIEWABLE = /^(image\/(png|jpeg|gif|webp|avif)|text\/plain|application\/pdf|application\/json|audio\/[\w.+-]+|video\/[\w.+-]+)$/;

export function canOpen(row: Row): boolean {
  return VIEWABLE.test(row.result?.contentType?.split(';')[0]?.trim() ?? '');
}

/**
 * A plain link cannot carry the Authorization header, so the page fetches the file itself and hands
 * the browser a blob: URL of it. The whole file is held in memory while saving (fine for what a
 * person fetches by hand; programs stream `client.content()` instead).
 */
export async function saveFile(client: FerryClient, row: Row, mode: 'save' | 'open'): Promise<void> {
  const response = await client.content(row.id);
  const type = mode === 'open' && canOpen(row) ? (row.result?.contentType ?? 'application/octet-stream') : 'application/octet-stream';
  const blob = new Blob([await response.arrayBuffer()], { type });
  const url = URL.createObjectURL(blob);
  try {
    if (mode === 'open') {
      window.open(url, '_blank', 'noopener');
    } else {
      const link = document.createElement('a');
      link.href = url;
      link.download = row.result?.filename ?? 'download';
      link.click();
    }
  } finally {
    // The new tab or the download has taken the URL by then.
    setTimeout(() => URL.revokeObjectURL(url), 60_000);
  }
}
