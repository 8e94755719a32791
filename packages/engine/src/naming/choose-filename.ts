import { dispositionFilenames } from './content-disposition.js';
import { extensionForContentType } from './content-type-extension.js';
import { filenameFromUrl, MAX_FILENAME_BYTES, sanitizeFilename, truncateUtf8, unsafeFilenameReason } from '@ferry/contract';

// Only reached when even the job id sanitizes to nothing; a stored file still needs a name.
const LAST_RESORT_FILENAME = 'download';

/** Everything a download knows that could name its file, most authoritative first. */
export interface FilenameSources {
  /** The caller's own `filename`: used exactly as given, never given an extension. */
  readonly requested?: string | undefined;
  readonly contentDisposition?: string | undefined;
  readonly contentType?: string | null | undefined;
  /** The URL after redirects, which usually names the real file (a CDN object rather than `/download?id=7`). */
  readonly finalUrl?: string | URL | undefined;
  readonly requestUrl?: string | URL | undefined;
  readonly jobId: string;
}

function firstSafe(candidates: readonly (string | undefined)[]): string | undefined {
  for (const candidate of candidates) {
    const safe = candidate === undefined ? undefined : sanitizeFilename(candidate);
    if (safe !== undefined) return safe;
  }
  return undefined;
}

function filenameFromUrlText(url: string | URL | undefined): string | undefined {
  if (url === undefined) return undefined;
  try {
    return filenameFromUrl(new URL(url));
  } catch {
    return undefined;
  }
}

/**
 * The caller's name is theirs to choose, so a safe one is kept byte for byte (the
 * request schema already refuses unsafe ones); anything else is sanitized in case
 * a caller bypassed the schema.
 */
function requestedFilename(requested: string | undefined): string | undefined {
  if (requested === undefined) return undefined;
  return unsafeFilenameReason(requested) === undefined ? requested : sanitizeFilename(requested);
}

// A dot with something on both sides: a leading dot starts a hidden name (.bashrc), and a trailing one ("report.") is no extension to keep.
function hasExtension(name: string): boolean {
  const dot = name.lastIndexOf('.');
  return dot > 0 && dot < name.length - 1;
}

/** Appends `extension`, shortening the stem rather than the extension to stay within 255 bytes. */
function withExtension(name: string, extension: string | undefined): string {
  if (extension === undefined || hasExtension(name)) return name;
  const extended = truncateUtf8(name, MAX_FILENAME_BYTES - Buffer.byteLength(extension, 'utf8')) + extension;
  return unsafeFilenameReason(extended) === undefined ? extended : name;
}

/**
 * The name to store a download under: the caller's `filename`, else the
 * Content-Disposition name (`filename*` before `filename`), else the last segment
 * of the final URL, else of the requested URL, else the job id. Each candidate is
 * sanitized and one that sanitizes to nothing falls through to the next. A derived
 * name without an extension gets one from the Content-Type.
 */
export function chooseFilename(sources: FilenameSources): string {
  const requested = requestedFilename(sources.requested);
  if (requested !== undefined) return requested;
  const disposition = dispositionFilenames(sources.contentDisposition);
  const derived =
    firstSafe([disposition.extended, disposition.plain]) ??
    filenameFromUrlText(sources.finalUrl) ??
    filenameFromUrlText(sources.requestUrl) ??
    sanitizeFilename(sources.jobId) ??
    LAST_RESORT_FILENAME;
  return withExtension(derived, extensionForContentType(sources.contentType));
}
