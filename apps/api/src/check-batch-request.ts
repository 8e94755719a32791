import { BatchRequest, FerryError } from '@ferry/contract';
import { checkCallbackUrl, checkDownloadRequest, type RequestPolicy } from './check-download-request.js';
import { invalidRequest, validationError } from './errors.js';

type Issue = { path: string; message: string };

/** The problems of one coded failure, with paths under `at`: the item's own fields, or the item itself for a refused destination. */
function issuesOf(err: unknown, at: string): Issue[] {
  if (!(err instanceof FerryError)) throw err;
  const issues = err.data['issues'];
  if (Array.isArray(issues)) return (issues as Issue[]).map((i) => ({ path: i.path === '' ? at : `${at}.${i.path}`, message: i.message }));
  return [{ path: at, message: `${err.code}: ${err.message}` }];
}

/** Each item's checks beyond the schema, collected so that one 400 names every failing index. */
function policyIssues(batch: BatchRequest, policy: RequestPolicy): Issue[] {
  const issues: Issue[] = [];
  batch.downloads.forEach((download, i) => {
    if (download.idempotencyKey !== undefined) {
      issues.push({ path: `downloads.${i}.idempotencyKey`, message: 'cannot be used in a batch: the batch is accepted whole or not at all' });
    }
    try {
      checkDownloadRequest(download, policy);
    } catch (err) {
      issues.push(...issuesOf(err, `downloads.${i}`));
    }
  });
  try {
    checkCallbackUrl(batch.callbackUrl, policy);
  } catch (err) {
    issues.push(...issuesOf(err, 'callbackUrl'));
  }
  return issues;
}

/** A batch request's body, checked as a whole: at most `maxSize` downloads, the schema, then each item's policy. Throws a 400 FerryError. */
export function parseBatchRequest(body: unknown, policy: RequestPolicy, maxSize: number): BatchRequest {
  // Counted before parsing: a body far over the limit should not be validated item by item only to be refused.
  const given = (body as { downloads?: unknown } | null)?.downloads;
  if (Array.isArray(given) && given.length > maxSize) {
    throw invalidRequest(
      [{ path: 'downloads', message: `holds ${given.length} downloads; a batch holds at most ${maxSize} (FERRY_BATCH_MAX_SIZE): split it` }],
      'batch',
    );
  }
  const parsed = BatchRequest.safeParse(body);
  if (!parsed.success) throw validationError(parsed.error, Object.keys(BatchRequest.shape), 'batch');
  const issues = policyIssues(parsed.data, policy);
  if (issues.length > 0) throw invalidRequest(issues, 'batch');
  return parsed.data;
}
