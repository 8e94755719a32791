/**
 * Reading a file name out of a Content-Disposition header (RFC 6266, with RFC 8187
 * ext-values). The header is written by whoever runs the origin, so every path
 * through here tolerates garbage: a malformed parameter is dropped, never thrown.
 * Names come back decoded but unsanitized; `sanitizeFilename` decides what is safe.
 */

/** The names one header offers, in the order RFC 6266 §4.3 says to prefer them. */
export interface DispositionFilenames {
  /** From `filename*`, the form that can carry non-ASCII names. */
  readonly extended?: string;
  /** From plain `filename`, the fallback senders add for clients that predate `filename*`. */
  readonly plain?: string;
}

interface Parameter {
  readonly name: string;
  /** Undefined when the value is malformed, so that it cannot be mistaken for an absent one. */
  readonly value: string | undefined;
  readonly quoted: boolean;
}

// RFC 8187 value-chars, loosened to any visible ASCII except `"` and a stray `%`: many
// senders use encodeURIComponent, which leaves `(`, `)` and `*` unescaped.
const EXT_VALUE_CHARS = /^(?:%[0-9A-Fa-f]{2}|[!#$&-~])*$/;
const EXT_VALUE = /^([^']+)'[^']*'(.*)$/s;
// Any UTF-16 code unit above U+00FF, surrogates included.
const BEYOND_LATIN1 = /[\u0100-\uffff]/;
const HAS_HIGH_LATIN1 = /[\u0080-\u00ff]/;

function skipWhitespace(text: string, from: number): number {
  let i = from;
  while (text[i] === ' ' || text[i] === '\t') i += 1;
  return i;
}

function nextSemicolon(text: string, from: number): number {
  const at = text.indexOf(';', from);
  return at === -1 ? text.length : at;
}

/** Reads the quoted-string opening at `start`; undefined when it never closes. */
function readQuotedString(text: string, start: number): { value: string; end: number } | undefined {
  let value = '';
  for (let i = start + 1; i < text.length; i += 1) {
    const char = text[i];
    if (char === '"') return { value, end: i + 1 };
    if (char === '\\') {
      i += 1;
      if (i >= text.length) return undefined;
    }
    value += text[i];
  }
  return undefined;
}

/**
 * Splits `type; name=value; name="value"` into its parameters. Bare words (the
 * disposition type, or junk) are skipped, so a header that forgot its type still
 * yields its filename, as it does in browsers.
 */
function readParameters(header: string): Parameter[] {
  const params: Parameter[] = [];
  let i = 0;
  while (i < header.length) {
    let end = i;
    while (end < header.length && header[end] !== ';' && header[end] !== '=') end += 1;
    if (header[end] !== '=') {
      i = end + 1;
      continue;
    }
    const name = header.slice(i, end).trim().toLowerCase();
    i = skipWhitespace(header, end + 1);
    if (header[i] === '"') {
      const quoted = readQuotedString(header, i);
      // An unclosed quote swallows the rest of the header, so nothing after it can be trusted.
      if (quoted === undefined) {
        params.push({ name, value: undefined, quoted: true });
        break;
      }
      i = skipWhitespace(header, quoted.end);
      const endsCleanly = i >= header.length || header[i] === ';';
      params.push({ name, value: endsCleanly ? quoted.value : undefined, quoted: true });
    } else {
      const raw = header.slice(i, nextSemicolon(header, i)).trim();
      params.push({ name, value: raw.includes('"') ? undefined : raw, quoted: false });
    }
    i = nextSemicolon(header, i) + 1;
  }
  return params;
}

/**
 * The one parameter called `name`. RFC 6266 §4.1 makes a repeated parameter
 * invalid, and senders, proxies and browsers disagree on which copy wins, so
 * copies that differ are all distrusted rather than one picked.
 */
function onlyParameter(params: readonly Parameter[], name: string): Parameter | undefined {
  const found = params.filter((param) => param.name === name);
  const first = found[0];
  if (first === undefined) return undefined;
  return found.every((param) => param.value === first.value && param.quoted === first.quoted) ? first : undefined;
}

function decodeUtf8(bytes: Buffer): string | undefined {
  try {
    return new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  } catch {
    return undefined;
  }
}

/** Decodes an RFC 8187 ext-value such as `UTF-8'en'%e2%82%ac%20rates`. */
function decodeExtValue(extValue: string): string | undefined {
  const match = EXT_VALUE.exec(extValue);
  if (match === null) return undefined;
  const [, charset = '', encoded = ''] = match;
  if (!EXT_VALUE_CHARS.test(encoded)) return undefined;
  const bytes = Buffer.from(
    encoded.replace(/%([0-9A-Fa-f]{2})/g, (_, hex: string) => String.fromCharCode(parseInt(hex, 16))),
    'latin1',
  );
  // RFC 8187 requires UTF-8 and allows ISO-8859-1; guessing at any other charset could mis-decode into a path.
  switch (charset.toLowerCase()) {
    case 'utf-8':
      return decodeUtf8(bytes);
    case 'iso-8859-1':
      return bytes.toString('latin1');
    default:
      return undefined;
  }
}

/**
 * HTTP clients hand header values over as ISO-8859-1, but many servers put raw
 * UTF-8 in a plain `filename`; when the bytes are valid UTF-8 that is what they meant.
 */
function repairUtf8(value: string): string {
  if (!HAS_HIGH_LATIN1.test(value) || BEYOND_LATIN1.test(value)) return value;
  return decodeUtf8(Buffer.from(value, 'latin1')) ?? value;
}

function nonEmpty(value: string | undefined): string | undefined {
  return value === undefined || value === '' ? undefined : value;
}

/** Every name the header offers, decoded; an absent or unusable form is left out. */
export function dispositionFilenames(header: string | undefined): DispositionFilenames {
  if (header === undefined) return {};
  const params = readParameters(header);
  const star = onlyParameter(params, 'filename*');
  const plain = onlyParameter(params, 'filename');
  // An ext-value is never quoted (RFC 8187 §3.2); a quoted one is a sender bug of unknown meaning.
  const extended = star?.value !== undefined && !star.quoted ? nonEmpty(decodeExtValue(star.value)) : undefined;
  const plainName = plain?.value !== undefined ? nonEmpty(repairUtf8(plain.value)) : undefined;
  return {
    ...(extended === undefined ? {} : { extended }),
    ...(plainName === undefined ? {} : { plain: plainName }),
  };
}

/**
 * `attachment` naming `filename` as an RFC 8187 ext-value. encodeURIComponent
 * leaves `'`, `(`, `)` and `*` as they are, which are no attr-chars: strict
 * parsers refuse the header, and renamed files (`name (1).txt`) all have them.
 */
export function attachmentDisposition(filename: string): string {
  const encoded = encodeURIComponent(filename).replace(/['()*]/g, (char) => `%${char.charCodeAt(0).toString(16).toUpperCase()}`);
  return `attachment; filename*=UTF-8''${encoded}`;
}
