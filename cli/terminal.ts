/**
 * Text that came from a function (its log lines) printed safely: a function is an attacker, and
 * its output must not drive the user's terminal. Every control character (C0, DEL, C1 — ESC among
 * them, so no ANSI sequence), the Unicode line and paragraph separators and the bidirectional
 * overrides are shown as escapes (`\x1b`, `\n`, `\u202e`); one log line stays one terminal line
 * (a message of several lines: `messageLines`, each of its lines with the line's columns).
 * Long lines are cut. Times are shown as local ISO 8601 with the offset.
 */

import { escapedCharacter, UNSAFE_TEXT } from '../protocol/visible-text.js'; // not index.js: it loads zod, which --version must not (cli.test.ts)

/** The longest message printed, in characters (after escaping); the rest is summarized. */
export const MAX_PRINTED_CHARS = 4096;

/** `text` with every unsafe character escaped, cut to `max` characters. */
export function terminalSafe(text: string, max = MAX_PRINTED_CHARS): string {
  const escaped = text.replace(UNSAFE_TEXT, escapedCharacter);
  if (escaped.length <= max) return escaped;
  let end = max;
  const code = escaped.charCodeAt(end - 1);
  if (code >= 0xd800 && code <= 0xdbff) end--;
  return `${escaped.slice(0, end)} …[+${escaped.length - end} chars]`;
}

/**
 * A message printed line by line, each line escaped and cut like `terminalSafe`: its own line
 * breaks stay breaks, nothing else of it reaches the terminal raw.
 */
export function safeLines(text: string, max = MAX_PRINTED_CHARS): string {
  return text.split('\n').map((line) => terminalSafe(line, max)).join('\n');
}

/**
 * A log message of several lines (`log.exception`'s record with its traceback) as one string per
 * line, each escaped like `terminalSafe` (`\r`, ESC, … never raw), its trailing line breaks dropped,
 * cut as `terminalSafe` cuts when all of them together pass `max` characters. The caller puts the
 * same columns (time, run, level) before each, so a line of one run never reads as another's
 * (ADR 0224; `logs` showed the traceback as one line of `\n`s).
 */
export function messageLines(text: string, max = MAX_PRINTED_CHARS): string[] {
  const lines = text.replace(/(\r?\n)+$/, '').split(/\r?\n/).map((line) => line.replace(UNSAFE_TEXT, escapedCharacter));
  const out: string[] = [];
  let room = max;
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!;
    if (line.length <= room) {
      out.push(line);
      room -= line.length;
      continue;
    }
    let end = room;
    const code = line.charCodeAt(end - 1);
    if (code >= 0xd800 && code <= 0xdbff) end--;
    const left = line.length - end + lines.slice(i + 1).reduce((sum, rest) => sum + rest.length, 0);
    out.push(`${line.slice(0, end)} …[+${left} chars${i + 1 < lines.length ? `, ${lines.length - i - 1} more line${lines.length - i - 1 === 1 ? '' : 's'}` : ''}]`);
    break;
  }
  return out;
}

/** ESC and the C1 controls: the characters that begin a terminal sequence (colors, titles, OSC 52 clipboard writes). */
// eslint-disable-next-line no-control-regex -- matching control characters is the point
const SEQUENCE_START = /[\x1b\x80-\x9f]/g;

/**
 * `text` with no character that could begin a terminal sequence: tabs, line breaks and the rest
 * stay as they are (a function's answer piped on keeps its bytes). The last guard of everything
 * the CLI prints: names, URLs and messages a hostile server sent in a 2xx answer included.
 */
export function withoutSequences(text: string): string {
  return text.replace(SEQUENCE_START, escapedCharacter);
}

const pad = (n: number, width = 2): string => String(n).padStart(width, '0');

/** `2026-12-01T14:03:07.123+01:00`: local time with its offset (the TZ of the CLI's process). */
export function localIso(ms: number): string {
  const d = new Date(ms);
  if (Number.isNaN(d.getTime())) return 'invalid-time';
  const offset = -d.getTimezoneOffset();
  const sign = offset >= 0 ? '+' : '-';
  const abs = Math.abs(offset);
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}T${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}.${pad(d.getMilliseconds(), 3)}${sign}${pad(Math.floor(abs / 60))}:${pad(abs % 60)}`;
}
