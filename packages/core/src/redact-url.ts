/** What stands where a secret was. */
export const REDACTED = '[redacted]';

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

// Redis URLs too: REDIS_URL may carry the server's password.
const URL_IN_TEXT = /\b(?:https?|rediss?):\/\/[^\s"'<>]+/g;

/** Text (a failure's message, a log line) with every URL in it redacted. */
export function redactUrlsIn(text: string): string {
  return text.includes('://') ? text.replace(URL_IN_TEXT, redactUrl) : text;
}
