/** Numbers, durations, sizes and times as people read them. */
import { omittedResultNote } from '../../protocol/run-result.js';
import { escapedCharacter, UNSAFE_TEXT } from '../../protocol/visible-text.js';

export function ms(value: number | null | undefined): string {
  if (value === null || value === undefined || !Number.isFinite(value)) return '—';
  if (value < 1) return `${value.toFixed(2)} ms`;
  if (value < 10) return `${value.toFixed(1)} ms`;
  if (value < 1000) return `${Math.round(value)} ms`;
  if (value < 60_000) return `${(value / 1000).toFixed(value < 10_000 ? 2 : 1)} s`;
  return `${(value / 60_000).toFixed(1)} min`;
}

export function pct(ratio: number | null | undefined): string {
  if (ratio === null || ratio === undefined || !Number.isFinite(ratio)) return '—';
  if (ratio === 0) return '0%';
  if (ratio < 0.001) return '<0.1%';
  // Never "100%" short of all: 1007 errors of 1010 calls read as an error rate of 100% beside
  // calls that succeeded (the CLI said 99.7 %; console round 7).
  if (ratio < 1 && ratio >= 0.999) return '>99.9%';
  return `${(ratio * 100).toFixed(ratio < 0.1 || (ratio >= 0.995 && ratio < 1) ? 1 : 0)}%`;
}

export function count(n: number | null | undefined): string {
  if (n === null || n === undefined) return '—';
  if (n < 10_000) return String(n);
  if (n < 1_000_000) return `${(n / 1000).toFixed(n < 100_000 ? 1 : 0)}k`;
  return `${(n / 1_000_000).toFixed(1)}M`;
}

export function bytes(n: number): string {
  if (n < 1024) return `${n} B`;
  if (n < 1024 * 1024) return `${(n / 1024).toFixed(n < 10 * 1024 ? 1 : 0)} KiB`;
  if (n < 1024 ** 3) return `${(n / 1024 ** 2).toFixed(n < 10 * 1024 ** 2 ? 1 : 0)} MiB`;
  return `${(n / 1024 ** 3).toFixed(1)} GiB`;
}

/** `30s`, `256Mi` as platform.yaml writes them (the API takes these). */
export function duration(msValue: number): string {
  if (msValue % 3_600_000 === 0) return `${msValue / 3_600_000}h`;
  if (msValue % 60_000 === 0) return `${msValue / 60_000}m`;
  if (msValue % 1000 === 0) return `${msValue / 1000}s`;
  return `${msValue}ms`;
}

export function memory(b: number): string {
  if (b % 1024 ** 3 === 0) return `${b / 1024 ** 3}Gi`;
  if (b % 1024 ** 2 === 0) return `${b / 1024 ** 2}Mi`;
  return `${Math.round(b / 1024)}Ki`;
}

export function ago(at: number | null | undefined, now = Date.now()): string {
  if (at === null || at === undefined) return 'never';
  const s = Math.round((now - at) / 1000);
  if (s < 5) return 'just now';
  if (s < 60) return `${s}s ago`;
  if (s < 3600) return `${Math.floor(s / 60)}m ago`;
  if (s < 86_400) return `${Math.floor(s / 3600)}h ago`;
  return `${Math.floor(s / 86_400)}d ago`;
}

export function time(at: number): string {
  return new Date(at).toLocaleString(undefined, { dateStyle: 'medium', timeStyle: 'medium' });
}

/** The browser's own time zone (IANA name). */
export function localZone(): string {
  return Intl.DateTimeFormat().resolvedOptions().timeZone;
}

/**
 * A time in `zone` with the zone's offset (`Dec 7, 2026, 3:00:00 AM GMT+1`), and in the browser's
 * zone after it when that is another: a cron trigger's next fire times follow its schedule's zone,
 * and were shown in the browser's alone, with no zone said, beside `(America/New_York)`.
 */
export function zonedTime(at: number, zone: string): string {
  let there: string;
  try {
    there = new Date(at).toLocaleString(undefined, { dateStyle: 'medium', timeStyle: 'long', timeZone: zone });
  } catch {
    return time(at); // a zone this browser does not know (the platform's tz data is newer)
  }
  return localZone() === zone ? there : `${there} · ${new Date(at).toLocaleString(undefined, { dateStyle: 'medium', timeStyle: 'long' })} here`;
}

export function clock(at: number): string {
  const d = new Date(at);
  return `${d.toLocaleTimeString(undefined, { hour12: false })}.${String(d.getMilliseconds()).padStart(3, '0')}`;
}

/**
 * An async run's stored result (`stored`) or a test invoke's answer (`shown`) as text; a body the
 * platform did not keep or send says so with its size (protocol/run-result.ts): an empty box read
 * as an empty answer.
 */
export function resultText(result: { headers?: Record<string, string>; body?: unknown; bodyBase64?: string }, of: 'stored' | 'shown' = 'stored'): string {
  return omittedResultNote(result.headers, of) ?? bodyText(result.body, result.bodyBase64);
}

/** A body as text: JSON pretty-printed, strings as they are. */
export function bodyText(body: unknown, base64?: string): string {
  if (base64 !== undefined) return `(${base64Bytes(base64)} bytes, not text) ${base64.slice(0, 200)}`;
  if (body === undefined || body === null) return '';
  if (typeof body === 'string') return shownText(body);
  return shownText(JSON.stringify(body, null, 2));
}

/** More than 30 combining marks in a row: Unicode's stream-safe bound (UAX #15), which no text needs. */
const LONG_MARK_RUN = /(\p{M}{30})(\p{M}+)/gu;

/**
 * Text a function wrote (a body, a header, a log line, an error), as the page shows it: line
 * breaks and tabs as they are, every other control character (ESC of an ANSI sequence, a lone
 * CR), line or paragraph separator and bidi control shown as an escape (`\x1b`, `\u202e`), as
 * the CLI shows them (protocol/visible-text.ts): `\u202egnp.exe` read as `exe.png`. A run of more than
 * 30 combining marks keeps its first 30 and says how many followed. Chromium shapes a character
 * and its marks as one cluster, in time that grows with the square of its length: `a` and 120 000
 * U+0301 (240 KB, within an async result's 256 KiB) held the tab 30 s when the run's result was
 * opened, 20 000 about 1 s (red team round 18).
 */
export function shownText(text: string): string {
  return cutMarks(text.replace(UNSAFE_TEXT, (c, at: number, all: string) => (c === '\n' || c === '\t' || (c === '\r' && all[at + 1] === '\n') ? c : escapedCharacter(c))));
}

/** What begins each further line of one log line (a message with line breaks): no line of its own, so none passes for another log line. */
export const CONTINUATION = '    \u21b3 ';

/**
 * A log line's message as the Logs tab and a run's logs show it: like `shownText`, and a line
 * break in it starts an indented, marked continuation, never a line of its own — else
 * `logger.info("ok\n12:00:00.000 deadbeef run ended succeeded 200 1.0 ms")` showed a line just
 * like a real one (the CLI's `logs` shows such a break as `\n`; a traceback logged with
 * `logger.exception` stays readable here).
 */
export function logText(msg: string): string {
  return cutMarks(msg.replace(UNSAFE_TEXT, (c, at: number, all: string) => (c === '\t' ? c : c === '\n' ? `\n${CONTINUATION}` : c === '\r' && all[at + 1] === '\n' ? '' : escapedCharacter(c))));
}

/** The longest level a log line shows, as the CLI's `logs` prints it (cli/commands/logs.ts). */
const MAX_LEVEL_CHARS = 16;

/**
 * A word a function chose that the page shows inside a line of its own making: a log line's
 * level (`logging.addLevelName` and a filter setting `record.levelname` take any text), an
 * exception's type name (`type("…", (Exception,), {})`), a file name, a database or collection
 * it wrote. Like `shownText`, and a line break or tab is an escape too (`\n`): a level
 * `"INFO ok\n12:00:00.000 deadbeef run ended …"` made a log line of its own, the forgery
 * `logText` keeps out of messages (console round 3). The CLI escapes these the same way.
 */
export function inlineText(text: string): string {
  return cutMarks(text.replace(UNSAFE_TEXT, escapedCharacter));
}

/** A log line's level as shown: `inlineText`, at most 16 characters (then `…`). */
export function levelText(level: string): string {
  const chars = [...level];
  return inlineText(chars.length > MAX_LEVEL_CHARS ? `${chars.slice(0, MAX_LEVEL_CHARS).join('')}…` : level);
}

function cutMarks(text: string): string {
  return text.replace(LONG_MARK_RUN, (_all, kept: string, rest: string) => `${kept}[${[...rest].length} more combining marks]`);
}

/** The bytes base64 encodes (its `=` padding is not data: 1024 bytes were said to be 1026). */
function base64Bytes(base64: string): number {
  const padding = base64.endsWith('==') ? 2 : base64.endsWith('=') ? 1 : 0;
  return Math.floor((base64.length * 3) / 4) - padding;
}
