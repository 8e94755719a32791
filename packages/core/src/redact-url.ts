/** What stands where a secret was. */
export const REDACTED = '[redacted]';

// Any scheme's userinfo (redis://user:password@host), found even where the rest is not a valid URL.
const URL_USERINFO = /(\/\/)[^/@\s]*@/g;

/** Text (a configured value an error echoes) with the user and password of every URL in it redacted. */
export function redactUserinfo(text: string): string {
  return text.replace(URL_USERINFO, `$1${REDACTED}@`);
}

/** A URL without what may be a credential: userinfo, query values (presigned URLs, callback tokens) and the fragment. */
function redactUrl(text: string): string {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    return text;
  }
  // Nothing to hide: the text stays as written (new URL() would add a trailing / to a bare origin, for one).
  if (url.username === '' && url.password === '' && url.search === '' && url.hash === '') return text;
  const userinfo = url.username === '' && url.password === '' ? '' : `${REDACTED}@`;
  const query = [...url.searchParams.keys()].map((name) => `${encodeURIComponent(name)}=${REDACTED}`).join('&');
  return `${url.protocol}//${userinfo}${url.host}${url.pathname}${query === '' ? '' : `?${query}`}${url.hash === '' ? '' : `#${REDACTED}`}`;
}

// Redis URLs carry its password as download URLs carry tokens.
const URL_IN_TEXT = /\b(?:https?|rediss?):\/\/[^\s"'<>]+/g;

/** Text (a failure's message, a log line) with every URL in it redacted. */
export function redactUrlsIn(text: string): string {
  return text.includes('://') ? text.replace(URL_IN_TEXT, redactUrl) : text;
}
