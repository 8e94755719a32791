import { utf8Length } from './encoding.js';

export const MAX_FILENAME_BYTES = 255;
// Names that Windows maps to devices whatever their extension; refused so files stay portable to SMB shares and Windows clients.
const WINDOWS_DEVICE = /^(con|prn|aux|nul|com[0-9¹²³]|lpt[0-9¹²³])(\..*)?$/i;
// C0 and C1 controls, and bidi controls that make a name display as something it is not.
// eslint-disable-next-line no-control-regex
const FORBIDDEN_CHARACTERS = /[\u0000-\u001f\u007f-\u009f\u200e\u200f\u202a-\u202e\u2066-\u2069]/u;

/** Why `name` may not be used as a stored file's name, or undefined when it may. */
export function unsafeFilenameReason(name: string): string | undefined {
  if (name.length === 0) return 'must not be empty';
  if (name.includes('/') || name.includes('\\')) return 'must be a bare file name, without / or \\';
  if (name === '.' || name === '..') return 'must not be . or ..';
  if (FORBIDDEN_CHARACTERS.test(name)) return 'must not contain control or bidirectional-override characters';
  if (WINDOWS_DEVICE.test(name)) return 'must not be a reserved device name such as CON or NUL';
  if (name.normalize('NFC') !== name) return 'must be in Unicode normalization form NFC';
  if (name.endsWith('.') || name.endsWith(' ')) return 'must not end with a dot or a space';
  if (utf8Length(name) > MAX_FILENAME_BYTES) return `must be at most ${MAX_FILENAME_BYTES} bytes in UTF-8`;
  return undefined;
}

/** The longest prefix of `name` that fits in `maxBytes` of UTF-8, never splitting a character. */
export function truncateUtf8(name: string, maxBytes: number): string {
  let out = '';
  for (const char of name) {
    if (utf8Length(out + char) > maxBytes) break;
    out += char;
  }
  return out;
}

/**
 * Turns untrusted text (a URL segment, later a Content-Disposition value) into a
 * name that passes `unsafeFilenameReason`, or undefined when nothing usable is left.
 */
export function sanitizeFilename(raw: string): string | undefined {
  const cleaned = raw
    .normalize('NFC')
    .replace(new RegExp(FORBIDDEN_CHARACTERS.source, 'gu'), '')
    .replace(/[/\\]/g, '_')
    .replace(/[. ]+$/, '')
    .trim();
  if (cleaned === '' || cleaned === '.' || cleaned === '..') return undefined;
  const safe = WINDOWS_DEVICE.test(cleaned) ? `_${cleaned}` : cleaned;
  const truncated = truncateUtf8(safe, MAX_FILENAME_BYTES);
  return unsafeFilenameReason(truncated) === undefined ? truncated : undefined;
}

/** The last non-empty path segment of a URL, percent-decoded and sanitized. */
export function filenameFromUrl(url: URL): string | undefined {
  const segment = url.pathname.split('/').filter(Boolean).pop();
  if (segment === undefined) return undefined;
  let decoded: string;
  try {
    decoded = decodeURIComponent(segment);
  } catch {
    decoded = segment;
  }
  return sanitizeFilename(decoded);
}

/** `name (n).ext`: the next candidate when `name.ext` is taken. */
export function numberedFilename(name: string, n: number): string {
  const dot = name.lastIndexOf('.');
  const [stem, ext] = dot > 0 ? [name.slice(0, dot), name.slice(dot)] : [name, ''];
  const suffix = ` (${n})${ext}`;
  return truncateUtf8(stem, MAX_FILENAME_BYTES - utf8Length(suffix)) + suffix;
}
