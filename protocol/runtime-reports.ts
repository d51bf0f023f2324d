/**
 * What a runtime reports about a call (its log lines, its error) is untrusted: user code runs in
 * the runtime's process and can write frames of its own on the runtime's socket, with any shape
 * msgpack carries (docs/security.md, "The runtime's channel"). The runtime's own bounds (256 KiB of
 * lines per call, 64 Ki characters per error text) hold only for frames it wrote; these are the
 * host's, applied to every report before anything keeps it (the run record, the store, the live
 * feed, the gateway's answer).
 */
import type { LogLine, WireError } from './messages.js';
import type { Cut, SecretMask } from './secret-mask.js';

/**
 * The most a call's lines (streamed batches and the reply's together) may add up to, in units:
 * UTF-16 characters of `msg` + LOG_LINE_UNITS per line. The runtime bounds a call's capture at
 * 256 KiB (UTF-8 bytes + 40 per line, which this count never exceeds), so its own lines always fit.
 */
export const MAX_CALL_LOG_UNITS = 512 * 1024;
/** What a line costs beyond its text, so a flood of empty lines is bounded too. */
export const LOG_LINE_UNITS = 40;
/** The runtime's bound on an error's message and stack (runtime/fp_runtime/errors.py MAX_TEXT_CHARS). */
export const MAX_ERROR_TEXT_CHARS = 64 * 1024;
const MAX_ERROR_TYPE_CHARS = 256;
const MAX_ERROR_FILE_CHARS = 4096;
/**
 * A level a line keeps: a name as `logging` writes one (`INFO`, a custom `TRACE` or `AUDIT`,
 * `Level 5` for an unnamed number), ASCII, at most 32 characters. The CLI prints it in the column
 * where its own words stand (`logs`: `end ── ok 200 in 3 ms`, `platform [logs truncated …]`), so
 * those words are no function's level (RESERVED_LEVELS), nor a look-alike of them (`еnd`, Cyrillic
 * `е`), spaces after them or a control character (red team round 52: `addLevelName(60, "end")`
 * printed a run's end line, `"platform"` the platform's note, in `logs` and `runs <id>`).
 */
const LEVEL_NAME = /^(?:[A-Za-z][A-Za-z0-9_-]{0,31}|Level -?\d{1,9})$/;
const RESERVED_LEVELS: ReadonlySet<string> = new Set(['end', 'platform', 'run']);

/** `level` when a line may carry it as its level (LEVEL_NAME), else undefined. */
function keptLevel(level: unknown): string | undefined {
  return typeof level === 'string' && LEVEL_NAME.test(level) && !RESERVED_LEVELS.has(level.toLowerCase()) ? level : undefined;
}
const STREAMS: ReadonlySet<string> = new Set(['stdout', 'stderr', 'log']);

/**
 * The stream of the platform's own notes in a call's logs (the truncation markers): never the
 * function's stderr, shown as `platform` by `logs`, `runs` and the console, level warning
 * (protocol/live-logs.ts `levelOf`). A runtime cannot send it: its lines are one of STREAMS.
 */
export const PLATFORM_STREAM = 'platform';
/**
 * The runtime's own marker (runtime/fp_runtime/capture.py `finish`), the last line of a call's
 * reply, sent on stderr: the host names it the platform's line (ADR 0055, "Round 4b"). A function
 * that prints this exact text as its very last line gets the same; its logs are its owner's only.
 */
const RUNTIME_TRUNCATION = /^\[logs truncated: \d+ lines, \d+ bytes dropped\]$/;

/**
 * `raw` as a log line, or null when it is none: not an object, or no string `msg`. An unknown
 * stream counts as stdout, a time that is not a finite number as now, a level that is not a level's
 * name (keptLevel) is left out. The time is the runtime's word, which the function's code writes (it replaces
 * `time.time`, or sends its own frames): it is kept between `since` (when the call or load began)
 * and now. A line stamped 1e300 made `runs <id>` end in a RangeError, so a function hid what its run
 * printed from its owner, and one stamped in the future sorted after every later line (red team
 * round 44).
 */
export function cleanLogLine(raw: unknown, since = -Infinity, now = Date.now()): LogLine | null {
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) return null;
  const { stream, ts, msg, level } = raw as Record<string, unknown>;
  if (typeof msg !== 'string') return null;
  const line: LogLine = {
    stream: typeof stream === 'string' && STREAMS.has(stream) ? stream : 'stdout',
    ts: typeof ts === 'number' && Number.isFinite(ts) ? Math.min(Math.max(ts, since), now) : now,
    msg,
  };
  const kept = keptLevel(level);
  if (kept !== undefined) line.level = kept;
  return line;
}

/**
 * A call's budget of log units: `take` keeps the clean lines of a batch that fit, and counts the
 * others (malformed or past the budget) in `dropped`.
 */
export class LogBudget {
  used = 0;
  dropped = 0;

  /**
   * `since`: Unix ms when the call or load whose lines these are began (no line is stamped before it);
   * `mask`: the function's secret values masked in each line kept (./secret-mask.ts).
   */
  constructor(readonly limit: number = MAX_CALL_LOG_UNITS, readonly since: number = -Infinity, readonly mask: SecretMask | null = null) {}

  /**
   * The lines of `raw` (anything a runtime sent as `logs`) kept within the budget. `reply`: the
   * lines of the call's reply, whose last may be the runtime's truncation marker.
   */
  take(raw: unknown, reply = false): LogLine[] {
    if (!Array.isArray(raw)) return [];
    const out: LogLine[] = [];
    const now = Date.now();
    const lines = (raw as unknown[]).map((item) => cleanLogLine(item, this.since, now));
    if (this.mask !== null) maskRuns(lines, this.mask);
    for (const line of lines) {
      const units = line === null ? 0 : LOG_LINE_UNITS + line.msg.length;
      if (line === null || this.used + units > this.limit) {
        this.dropped++;
        continue;
      }
      this.used += units;
      out.push(line);
    }
    const last = out[out.length - 1];
    if (reply && last !== undefined && last.stream === 'stderr' && RUNTIME_TRUNCATION.test(last.msg)) last.stream = PLATFORM_STREAM;
    return out;
  }

  /** The platform's line saying how many lines it dropped, or null when none. */
  notice(): LogLine | null {
    return this.dropped === 0 ? null
      : { stream: PLATFORM_STREAM, ts: Date.now(), msg: `[logs truncated by the platform: ${this.dropped} lines dropped]` };
  }
}

/**
 * Each run of lines in a row on one stream masked as one text (`SecretMask.lines`): the lines of one
 * write (`print(a + "\n" + b)`, split by the runtime at its newlines) come in one batch, so a value
 * split over them is masked (ADR 0258). Lines of another batch are masked apart.
 */
function maskRuns(lines: (LogLine | null)[], mask: SecretMask): void {
  for (let from = 0; from < lines.length;) {
    const first = lines[from];
    let to = from + 1;
    if (first !== null && first !== undefined) {
      while (to < lines.length && lines[to]?.stream === first.stream) to++;
      const texts: string[] = [];
      const cuts: (Cut[] | undefined)[] = [];
      for (let i = from; i < to; i++) {
        texts.push(lines[i]!.msg);
        cuts.push(lineCuts(lines[i]!.msg));
      }
      const masked = mask.lines(texts, cuts);
      for (let i = from; i < to; i++) lines[i]!.msg = masked[i - from]!;
    }
    from = to;
  }
}

/** Lines of `raw` within a budget of their own (a specialization's), with the notice at the end if any was dropped. */
export function boundedLogLines(raw: unknown, since = -Infinity, limit: number = MAX_CALL_LOG_UNITS, mask: SecretMask | null = null): LogLine[] {
  const budget = new LogBudget(limit, since, mask);
  const lines = budget.take(raw, true);
  const notice = budget.notice();
  if (notice !== null) lines.push(notice);
  return lines;
}

/**
 * The runtime's mark at the end of a line it cut to the call's log budget (runtime/fp_runtime/capture.py
 * CUT_MARK), and at an error text's middle where it cut one past MAX_ERROR_TEXT_CHARS characters
 * (errors.py `_clip`, after the first half's characters, Python's code points): a secret value cut
 * there is masked by neither half (./secret-mask.ts `SecretMask`).
 */
export const RUNTIME_LINE_CUT_MARK = ' … [line truncated]';
const RUNTIME_ERROR_CUT_MARK = /\n\[\.\.\. \d+ characters cut \.\.\.\]\n/y;

/** The runtime's cut of a log line, if it cut it (none when `msg` does not end with its mark). */
export function lineCuts(msg: string): Cut[] | undefined {
  return msg.endsWith(RUNTIME_LINE_CUT_MARK) ? [[msg.length - RUNTIME_LINE_CUT_MARK.length, msg.length]] : undefined;
}

/** The runtime's cut of an error text, if it cut it: its mark after MAX_ERROR_TEXT_CHARS / 2 code points. */
export function errorCuts(text: string): Cut[] | undefined {
  if (text.length <= MAX_ERROR_TEXT_CHARS) return undefined;
  let at = 0;
  for (let points = 0; points < MAX_ERROR_TEXT_CHARS / 2 && at < text.length; points++) {
    const unit = text.charCodeAt(at);
    at += unit >= 0xd800 && unit <= 0xdbff && (text.charCodeAt(at + 1) & 0xfc00) === 0xdc00 ? 2 : 1;
  }
  RUNTIME_ERROR_CUT_MARK.lastIndex = at;
  const mark = RUNTIME_ERROR_CUT_MARK.exec(text);
  return mark === null ? undefined : [[at, at + mark[0].length]];
}

/** `text` as the runtime would have cut it: its start and end, with the count of characters cut between. */
export function capErrorText(text: string, max: number = MAX_ERROR_TEXT_CHARS): string {
  if (text.length <= max) return text;
  const half = Math.floor(max / 2);
  return `${text.slice(0, half)}\n[... ${text.length - max} characters cut ...]\n${text.slice(-half)}`;
}

/**
 * The fields of a runtime's error report, bounded: `type` and `message` as strings (cut), `stack`
 * and `file` only when strings (cut), `line` only when a non-negative integer. `class` is left to
 * the caller, which knows the classes.
 */
export function cleanErrorFields(err: WireError, mask: SecretMask | null = null): Pick<WireError, 'type' | 'message' | 'stack' | 'file' | 'line'> {
  const masked = (text: string): string => (mask === null ? text : mask(text, errorCuts(text)));
  const out: Pick<WireError, 'type' | 'message' | 'stack' | 'file' | 'line'> = {
    type: capErrorText(typeof err.type === 'string' ? err.type : String(err.type), MAX_ERROR_TYPE_CHARS),
    message: capErrorText(masked(typeof err.message === 'string' ? err.message : String(err.message))),
  };
  if (typeof err.stack === 'string') out.stack = capErrorText(masked(err.stack));
  if (typeof err.file === 'string' && err.file.length <= MAX_ERROR_FILE_CHARS) out.file = err.file;
  if (typeof err.line === 'number' && Number.isInteger(err.line) && err.line >= 0) out.line = err.line;
  return out;
}

/** A message type a runtime sent, as a protocol error names it: quoted, escaped, at most 64 characters. */
export function shownMessageType(t: unknown): string {
  const text = JSON.stringify(String(t));
  return text.length <= 64 ? text : `${text.slice(0, 60)}…" (${String(t).length} characters)`;
}

/**
 * `text` (a runtime's own output, written by user code) with every control character but newline
 * and tab shown as `\xNN`: what reaches an operator's terminal or log (FP_DEBUG forwarding) cannot
 * move its cursor, set its title, write its clipboard (OSC 52) or hide a line with a carriage return.
 */
export function escapeControls(text: string): string {
  return text.replace(/[\u0000-\u0008\u000b-\u001f\u007f-\u009f]/g, (c) => `\\x${c.charCodeAt(0).toString(16).padStart(2, '0')}`);
}

/**
 * `text` (words a function or a package's build wrote) as part of one line of the operator's log:
 * control characters escaped (escapeControls), newlines and tabs made spaces. So it cannot pose as
 * a line of its own in the text log format, nor reach the operator's terminal as an escape sequence
 * (red team round 33: a failing sdist's build output did both, in the start's "not serving" line).
 */
export function oneLogLine(text: string): string {
  return escapeControls(text).replace(/[\n\t]/g, ' ');
}
