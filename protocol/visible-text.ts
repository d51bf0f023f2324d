/**
 * The characters that text a function wrote (a log line, a body, a header, an error) must not carry
 * raw to where a person reads it, and how each is shown instead: every control character (C0, DEL,
 * C1 — ESC among them, so no ANSI sequence), the Unicode line and paragraph separators and the
 * bidirectional marks, embeddings, overrides and isolates (`x\u202egnp.exe` reads as `xexe.png`):
 * every Bidi_Control character, the Arabic letter mark U+061C too (red team round 26: missing, it
 * turned `balance \u061c10-20` into `balance 20-10` as the right-to-left mark does).
 * One set for the CLI (cli/terminal.ts: a terminal) and the console (console/src/format.ts: a page),
 * so both show the same line the same way.
 */

// eslint-disable-next-line no-control-regex -- matching control characters is the point
export const UNSAFE_TEXT = /[\x00-\x1f\x7f-\x9f\u2028\u2029\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]/g;

const NAMED: Readonly<Record<string, string>> = { '\n': '\\n', '\r': '\\r', '\t': '\\t' };

/** `\n`, `\r`, `\t` by name; others as `\x1b` (up to U+00FF) or `\u202e`. */
export function escapedCharacter(c: string): string {
  const named = NAMED[c];
  if (named !== undefined) return named;
  const code = c.charCodeAt(0);
  return code <= 0xff ? `\\x${code.toString(16).padStart(2, '0')}` : `\\u${code.toString(16).padStart(4, '0')}`;
}
