/**
 * A function's secret values masked in what it logs (red team round 47; docs/secrets.md, "In
 * logs"): a `viewer` reads a function's logs, run records and errors but never its secrets, yet a
 * line that printed one (a connection string in a traceback, a client library's debug line with an
 * `Authorization` header, `print(os.environ)`) stored it in clear for every viewer to read. The pool
 * replaces each secret's value, where it appears whole in a log line or an error's message and
 * stack, by `[secret NAME]` before the line is kept, published live or recorded.
 *
 * Only whole values of at least MIN_MASKED_CHARS characters: a shorter secret (`1`, `true`) would
 * mask every such word of every line. A value transformed before printing (base64, URL-encoded, cut)
 * is not recognized; masking is a guard against printing by accident, not against code that means
 * to reveal its secrets (whoever deploys code can print them any way).
 */

/** Secret values shorter than this are not masked. */
export const MIN_MASKED_CHARS = 6;

/** Masks the secrets' values in a text; the text itself when it holds none. */
export type SecretMask = (text: string) => string;

/** The mask of `secrets` (name → value), or null when none is long enough to be masked. */
export function secretMask(secrets: Readonly<Record<string, string>> | undefined): SecretMask | null {
  if (secrets === undefined) return null;
  // The longest first: a value that holds another is replaced whole.
  const values = Object.entries(secrets).filter(([, v]) => v.length >= MIN_MASKED_CHARS).sort((a, b) => b[1].length - a[1].length);
  if (values.length === 0) return null;
  return (text) => {
    let out = text;
    for (const [name, value] of values) if (out.includes(value)) out = out.split(value).join(`[secret ${name}]`);
    return out;
  };
}
