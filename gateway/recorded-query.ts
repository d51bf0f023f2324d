/**
 * The query string a run record keeps (ADR 0251): the request's, as sent, with the value of each
 * parameter that may carry a credential replaced by `***`. A `viewer` reads run records; a caller
 * puts keys and tokens in a query (`?api_key=`, a webhook's `?token=`, OAuth's `?code=`), and the
 * record is the platform's, not something the function chose to print.
 */

/** At most this many characters are kept (then `…`), as the path (gateway/invoke.ts MAX_RECORDED_PATH). */
export const MAX_RECORDED_QUERY = 512;

/** What a masked value reads as. */
export const MASKED_VALUE = '***';

/** A parameter name that says it holds a credential (matched anywhere in the name, case-insensitively). */
const CREDENTIAL_NAME = /token|key|secret|pass|pwd|auth|sig|session|cred|code|jwt|bearer|otp|cookie|private|salt|nonce|hash/i;

/** A value shaped like a token whatever its name: 20+ characters without a space, holding letters and digits both. */
const TOKEN_SHAPE = /^(?=[^\s]*[a-z])(?=[^\s]*\d)[^\s]{20,}$/i;

function decoded(text: string): string {
  try {
    return decodeURIComponent(text.replace(/\+/g, ' '));
  } catch {
    return text;
  }
}

/** The query a run keeps for `rawQuery` (without its `?`); undefined when there is none. */
export function recordedQuery(rawQuery: string): string | undefined {
  if (rawQuery === '') return undefined;
  const kept = rawQuery.split('&').map((part) => {
    const eq = part.indexOf('=');
    if (eq === -1) return CREDENTIAL_NAME.test(decoded(part)) || TOKEN_SHAPE.test(decoded(part)) ? MASKED_VALUE : part;
    const name = part.slice(0, eq);
    const value = part.slice(eq + 1);
    if (value === '') return part;
    return CREDENTIAL_NAME.test(decoded(name)) || TOKEN_SHAPE.test(decoded(value)) ? `${name}=${MASKED_VALUE}` : part;
  }).join('&');
  return kept.length <= MAX_RECORDED_QUERY ? kept : `${kept.slice(0, MAX_RECORDED_QUERY)}…`;
}
