import { unsafeFilenameReason } from '@ferry/contract';

// Lower case only: on a case-insensitive disk (macOS, SMB) `Alice` and `alice` would share a directory.
const PLAIN = /^[a-z0-9_-][a-z0-9_.-]*$/;

/**
 * The directory a namespace's files live in. A plain name is used as it is, so
 * an operator finds a key's files under its name. Any other (upper case, a
 * leading dot such as `.parts`, a device name) is spelled in hex behind a `~`,
 * which no plain name contains: two namespaces never share a directory.
 */
export function namespaceDirectory(namespace: string): string {
  if (namespace.length === 0) throw new Error('a storage namespace must not be empty');
  if (PLAIN.test(namespace) && unsafeFilenameReason(namespace) === undefined) return namespace;
  return `~${Buffer.from(namespace, 'utf8').toString('hex')}`;
}
