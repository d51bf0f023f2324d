/** A curl line for a request, quoted for a POSIX shell. */
import { escapedCharacter, UNSAFE_TEXT } from '../../protocol/visible-text.js';

const HAS_UNSAFE = new RegExp(UNSAFE_TEXT.source);

/**
 * `s` as one shell word. A word holding a control character, a line separator or a bidi control
 * (a saved test case's path, header or body can) is written `$'…'` with those as escapes (bash,
 * zsh, ksh; POSIX 2024), so the line shown is the line copied: raw in `'…'`, a `\u202e` reordered
 * what the page showed of the command against what a paste runs (console round ui1).
 */
export function shellQuote(s: string): string {
  if (/^[A-Za-z0-9_./:@%+=,-]+$/.test(s)) return s;
  // `\xNN` is a byte in `$'…'`: the C1 controls (U+0080-U+009F) go as `\u00NN`, their UTF-8.
  if (HAS_UNSAFE.test(s)) return `$'${s.replace(/[\\']/g, (c) => `\\${c}`).replace(UNSAFE_TEXT, (c) => (c.charCodeAt(0) < 0x80 ? escapedCharacter(c) : `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`))}'`;
  return `'${s.replaceAll("'", "'\\''")}'`;
}

export function curlLine(opts: { method: string; url: string; headers: Record<string, string>; body: string | null; token: boolean }): string {
  const parts = ['curl', '-sS', '-X', opts.method, shellQuote(opts.url)];
  // Double quotes: the shell fills in the token from the environment.
  if (opts.token) parts.push('-H', '"Authorization: Bearer $FP_INVOKE_TOKEN"');
  for (const [k, v] of Object.entries(opts.headers)) parts.push('-H', shellQuote(`${k}: ${v}`));
  if (opts.body !== null && opts.body !== '') parts.push('--data-binary', shellQuote(opts.body));
  return parts.join(' ');
}
