import { DEFAULT_URL, DEV_KEY_FILE } from './settings.js';

/** A mistake in how ferry was called: exit code 2, with the help to fix it. */
export class UsageError extends Error {
  override readonly name = 'UsageError';
}

/** 3 is `status` of a download that has not ended: a script can poll until it is not 3, then read 0 or 1 as --wait would. */
export const EXIT = { ok: 0, failed: 1, usage: 2, notEnded: 3, interrupted: 130 } as const;

export const HELP = `Usage: ferry <command> [options]

Commands:
  add <url…> [--wait]     enqueue downloads, printing their ids; with --wait, show a
                          progress bar per download until all have ended
  batch <file> [--wait]   enqueue the URLs in <file> as one batch (one URL a line;
                          blank lines and lines starting with # are skipped)
  status <id>             show a download's state, progress, and result or error
  cancel <id>             cancel a download (an active one stops shortly after)

Options:
  --url <url>         Ferry's API; default: FERRY_URL, else ${DEFAULT_URL}
  --api-key <key>     the API key; default: FERRY_API_KEY, else the development
                      key that \`npm start\` keeps in ${DEV_KEY_FILE} (read from the
                      current directory, or FERRY_DATA_DIR when set)
  --wait              wait for the downloads to end, then print a summary
  -h, --help          show this help
  -v, --version       show ferry's version

Exit status: 0 when everything succeeded, 1 when a download failed or was
cancelled or Ferry refused a request, 2 for a usage error, 3 from status when
the download has not ended yet (queued, active, delayed or paused), 130 when
interrupted while waiting (the downloads go on in Ferry).
`;
