/** What the SDK's errors carry that Ferry tells apart by: the HTTP status and the S3 error name. */
function statusOf(err: unknown): number | undefined {
  return (err as { $metadata?: { httpStatusCode?: number } } | null)?.$metadata?.httpStatusCode;
}

const NOT_FOUND_NAMES = new Set(['NotFound', 'NoSuchKey', 'NoSuchUpload']);

export function isNotFound(err: unknown): boolean {
  return statusOf(err) === 404 || NOT_FOUND_NAMES.has((err as Error | null)?.name ?? '');
}

/** A conditional write (If-None-Match: *) found the key taken, or a conditional read (If-Match) found other bytes. */
export function isPreconditionFailed(err: unknown): boolean {
  return statusOf(err) === 412;
}

/** AWS: another conditional write to the key was in flight; the request may be sent again. */
export function isConditionalConflict(err: unknown): boolean {
  return statusOf(err) === 409 && (err as Error | null)?.name === 'ConditionalRequestConflict';
}
