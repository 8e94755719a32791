/**
 * The one extension we would give a file of each media type. A small table of our
 * own rather than the `mime-types` package: its first-listed extensions suit
 * servers, not saved files (`audio/mpeg` → `.mpga`, `video/quicktime` → `.qt`,
 * `application/octet-stream` → `.bin`), so it would need overriding anyway, and an
 * unknown type costs nothing here: the file simply keeps the name it had.
 * The choices mostly follow Python's `mimetypes.guess_extension`. Executable types are
 * left out on purpose: a Content-Type alone should never make a saved file
 * runnable by name on Windows (`.exe`, `.msi`, `.bat`).
 */
const EXTENSIONS: Readonly<Record<string, string>> = {
  // Documents and data
  'application/pdf': '.pdf',
  'application/json': '.json',
  'application/ld+json': '.jsonld',
  'application/geo+json': '.geojson',
  'application/x-ndjson': '.ndjson',
  'application/xml': '.xml',
  'text/xml': '.xml',
  'application/yaml': '.yaml',
  'text/yaml': '.yaml',
  'application/toml': '.toml',
  'application/sql': '.sql',
  'application/rtf': '.rtf',
  'application/postscript': '.ps',
  'application/epub+zip': '.epub',
  'application/vnd.apache.parquet': '.parquet',
  'application/msword': '.doc',
  'application/vnd.openxmlformats-officedocument.wordprocessingml.document': '.docx',
  'application/vnd.ms-excel': '.xls',
  'application/vnd.openxmlformats-officedocument.spreadsheetml.sheet': '.xlsx',
  'application/vnd.ms-powerpoint': '.ppt',
  'application/vnd.openxmlformats-officedocument.presentationml.presentation': '.pptx',
  'application/vnd.oasis.opendocument.text': '.odt',
  'application/vnd.oasis.opendocument.spreadsheet': '.ods',
  'application/vnd.oasis.opendocument.presentation': '.odp',
  'text/plain': '.txt',
  'text/csv': '.csv',
  'text/tab-separated-values': '.tsv',
  'text/html': '.html',
  'text/css': '.css',
  'text/javascript': '.js',
  'application/javascript': '.js',
  'text/markdown': '.md',
  'text/calendar': '.ics',
  'text/vcard': '.vcf',
  'text/vtt': '.vtt',
  'message/rfc822': '.eml',
  'application/wasm': '.wasm',
  // Archives and disk images
  'application/zip': '.zip',
  'application/x-zip-compressed': '.zip',
  'application/gzip': '.gz',
  'application/x-gzip': '.gz',
  'application/x-bzip2': '.bz2',
  'application/x-xz': '.xz',
  'application/zstd': '.zst',
  'application/x-tar': '.tar',
  'application/x-7z-compressed': '.7z',
  'application/vnd.rar': '.rar',
  'application/x-rar-compressed': '.rar',
  'application/java-archive': '.jar',
  'application/x-iso9660-image': '.iso',
  // Images
  'image/jpeg': '.jpg',
  'image/png': '.png',
  'image/gif': '.gif',
  'image/webp': '.webp',
  'image/avif': '.avif',
  'image/heic': '.heic',
  'image/heif': '.heif',
  'image/svg+xml': '.svg',
  'image/bmp': '.bmp',
  'image/tiff': '.tiff',
  'image/x-icon': '.ico',
  'image/vnd.microsoft.icon': '.ico',
  // Audio
  'audio/mpeg': '.mp3',
  'audio/mp4': '.m4a',
  'audio/aac': '.aac',
  'audio/ogg': '.ogg',
  'audio/opus': '.opus',
  'audio/flac': '.flac',
  'audio/wav': '.wav',
  'audio/wave': '.wav',
  'audio/x-wav': '.wav',
  'audio/webm': '.weba',
  // Video
  'video/mp4': '.mp4',
  'video/mpeg': '.mpeg',
  'video/quicktime': '.mov',
  'video/webm': '.webm',
  'video/ogg': '.ogv',
  'video/x-msvideo': '.avi',
  'video/x-matroska': '.mkv',
  'video/3gpp': '.3gp',
  // Fonts
  'font/woff': '.woff',
  'font/woff2': '.woff2',
  'font/ttf': '.ttf',
  'font/otf': '.otf',
};

/**
 * The extension, dot included, for a Content-Type such as `text/csv; charset=utf-8`,
 * or undefined when the type is unknown or says nothing (`application/octet-stream`).
 */
export function extensionForContentType(contentType: string | null | undefined): string | undefined {
  if (contentType == null) return undefined;
  const essence = (contentType.split(';')[0] ?? '').trim().toLowerCase();
  return Object.hasOwn(EXTENSIONS, essence) ? EXTENSIONS[essence] : undefined;
}
