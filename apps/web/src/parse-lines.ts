import { DIGEST_ALGORITHMS, DownloadRequest } from '@ferry/contract';
import type { DownloadRequestInput } from '@ferry/client';

/** One pasted line: the request it makes, or the API's own messages for what is wrong with it. */
export type ParsedLine =
  | { readonly line: number; readonly text: string; readonly request: DownloadRequestInput; readonly problems?: undefined }
  | { readonly line: number; readonly text: string; readonly request?: undefined; readonly problems: readonly string[] };

export interface LineDefaults {
  /** Applied to lines that name no priority of their own. */
  readonly priority?: number;
}

const ALGORITHMS: ReadonlySet<string> = new Set(DIGEST_ALGORITHMS);

/** A pasted file name with its %-escapes decoded; undefined when an escape is broken (a lone %). */
function decodedName(text: string): string | undefined {
  try {
    return decodeURIComponent(text);
  } catch {
    return undefined;
  }
}

/**
 * `URL [algorithm:digest] [filename=NAME] [priority=N]`, words separated by spaces
 * (a URL holds none: spaces in one are %20). Unknown words are reported, not ignored.
 */
function requestOf(text: string, defaults: LineDefaults): { request: Record<string, unknown>; problems: string[] } {
  const [url = '', ...words] = text.split(/\s+/);
  const request: Record<string, unknown> = { url };
  const problems: string[] = [];
  for (const word of words) {
    const option = /^(filename|priority)=(.*)$/.exec(word);
    const checksum = /^([a-z0-9]+)[:=](.+)$/.exec(word);
    if (option?.[1] === 'filename') {
      const name = decodedName(option[2] ?? '');
      if (name === undefined) problems.push(`${word} is not a valid file name: write % as %25, and a space as %20`);
      else request['filename'] = name;
    } else if (option?.[1] === 'priority') request['priority'] = /^\d+$/.test(option[2] ?? '') ? Number(option[2]) : option[2];
    else if (checksum !== null && ALGORITHMS.has(checksum[1] ?? '')) request['checksum'] = { algorithm: checksum[1], value: checksum[2] };
    else problems.push(`"${word}" is not understood: write sha256:<digest> (or ${DIGEST_ALGORITHMS.join(', ')}), filename=<name> or priority=<1 or more>`);
  }
  if (request['priority'] === undefined && defaults.priority !== undefined) request['priority'] = defaults.priority;
  return { request, problems };
}

/** Every non-blank line, checked with the contract's DownloadRequest, the schema the API itself validates with. */
export function parseLines(input: string, defaults: LineDefaults = {}): ParsedLine[] {
  const parsed: ParsedLine[] = [];
  input.split(/\r\n|\r|\n/).forEach((raw, index) => {
    const text = raw.trim();
    if (text === '' || text.startsWith('#')) return;
    const { request, problems } = requestOf(text, defaults);
    const checked = DownloadRequest.safeParse(request);
    if (!checked.success) problems.push(...checked.error.issues.map((issue) => `${issue.path.join('.')} ${issue.message}`));
    parsed.push(problems.length === 0 ? { line: index + 1, text, request: request as DownloadRequestInput } : { line: index + 1, text, problems });
  });
  return parsed;
}
