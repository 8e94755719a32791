import { FerryError, numberedFilename } from '@ferry/contract';

const MAX_NAME_COLLISIONS = 10_000;

/**
 * The names a publish under `policy` may take, in the order to try them: the name alone for
 * `fail`; for `rename` then `name (1)`, `name (2)`… and, past the last, an error rather than
 * an endless search.
 */
export function* candidateNames(filename: string, policy: 'rename' | 'fail'): Generator<string> {
  yield filename;
  if (policy === 'fail') return;
  for (let n = 1; n <= MAX_NAME_COLLISIONS; n += 1) yield numberedFilename(filename, n);
  throw new Error(`more than ${MAX_NAME_COLLISIONS} files are already named like ${filename}`);
}

/** What publishing answers when every candidate name is taken: under `fail`, the name itself. */
export function fileExists(filename: string): FerryError {
  return new FerryError('FERRY_ERR_FILE_EXISTS', `a file named ${filename} already exists in storage and the conflict policy is fail`, {
    data: { filename },
  });
}
