/** `Content-Range: bytes first-last/complete` (RFC 9110 §14.4); `complete` may be `*`. */
export interface ContentRange {
  readonly first: number;
  readonly last: number;
  readonly complete: number | null;
}

export function parseContentRange(value: string | undefined): ContentRange | undefined {
  const match = /^bytes (\d+)-(\d+)\/(\d+|\*)$/.exec(value?.trim() ?? '');
  if (match?.[1] === undefined || match[2] === undefined || match[3] === undefined) return undefined;
  const first = Number(match[1]);
  const last = Number(match[2]);
  const complete = match[3] === '*' ? null : Number(match[3]);
  if (last < first || (complete !== null && last >= complete)) return undefined;
  return { first, last, complete };
}
