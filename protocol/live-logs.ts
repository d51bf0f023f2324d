/**
 * Live logs: the lines of running calls as the pool receives them, published to a log feed while
 * someone tails the function (docs/api.md, "Live logs"; docs/adr/0014-live-logs.md). The pool
 * publishes lines, the gateway publishes the end of each run; the control plane's feed carries
 * them to `GET /api/v1/functions/{name}/logs/stream`.
 *
 * A line's identity is (runId, attempt, index): `seq` is the index of a batch's first line in the
 * run's `logs` list, so a live line and the same line in the stored run record share an identity
 * (a client that joins stored and live lines skips the ones it has shown).
 */
import type { ErrorCode } from './errors.js';
import type { LogLine } from './messages.js';
import type { RunStatus } from './records.js';

/** Lines of one run, in order; `seq` is the index of `lines[0]` in the run's record `logs`. */
export interface LiveLines {
  function: string;
  version: string;
  runId: string;
  attempt: number;
  seq: number;
  lines: readonly LogLine[];
  /**
   * When the run began (ms since the epoch, this process's clock). A reader drops the lines of runs
   * that began before the function now under the key was created: a deleted function's calls still
   * draining print into the feed of the key, which another function may hold by then (red team 6).
   */
  startedAt: number;
}

/** A run ended (any outcome, including refused before it ran): what its record says in brief. */
export interface LiveRunEnd {
  function: string;
  version: string;
  runId: string;
  attempt: number;
  status: RunStatus;
  errorCode: ErrorCode | null;
  httpStatus: number;
  durationMs: number;
  /** How many lines the run's record holds (the live lines of the run were `seq` 0 … lines-1). */
  lines: number;
  /** When the run began (as LiveLines.startedAt). */
  startedAt: number;
}

/**
 * Where the pool and the gateway publish live lines. `wants` runs on the hot path (a map lookup,
 * no I/O): nothing is built or published for a function nobody tails. `lines` and `end` never
 * block and never throw; a feed that cannot keep up drops and counts.
 */
export interface LogTap {
  wants(fn: string): boolean;
  lines(batch: LiveLines): void;
  end(run: LiveRunEnd): void;
}

/** Levels for filtering, lowest first. Lines of `print` count as info, lines on stderr as error. */
export const LOG_LEVELS = ['debug', 'info', 'warning', 'error', 'critical'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

const LEVEL_ALIASES: Readonly<Record<string, LogLevel>> = { warn: 'warning', fatal: 'critical', err: 'error' };

/** A level name as a user or Python's `logging` writes it (any case; warn, fatal), or null. */
export function parseLevel(text: string): LogLevel | null {
  const lower = text.toLowerCase();
  if ((LOG_LEVELS as readonly string[]).includes(lower)) return lower as LogLevel;
  return LEVEL_ALIASES[lower] ?? null;
}

/**
 * The level a line counts as: its `logging` level; stdout info; stderr error; the platform's own
 * note (stream `platform`: lines were dropped) warning; an unknown level info.
 */
export function levelOf(line: Pick<LogLine, 'stream' | 'level'>): LogLevel {
  if (typeof line.level === 'string') return parseLevel(line.level) ?? 'info';
  return line.stream === 'stderr' ? 'error' : line.stream === 'platform' ? 'warning' : 'info';
}

/** True when `line` is at `min` or above. */
export function atLeast(line: Pick<LogLine, 'stream' | 'level'>, min: LogLevel): boolean {
  return LOG_LEVELS.indexOf(levelOf(line)) >= LOG_LEVELS.indexOf(min);
}

/**
 * The longest message a live event or a log listing carries, in UTF-16 units; longer ones are cut
 * and end with ` …[+N chars]`. The run record keeps the whole line (`runs <id>`).
 */
export const MAX_LIVE_LINE_CHARS = 8192;

/** `msg` cut to MAX_LIVE_LINE_CHARS (never in the middle of a surrogate pair). */
export function capLine(msg: string, max = MAX_LIVE_LINE_CHARS): string {
  if (msg.length <= max) return msg;
  let end = max;
  const code = msg.charCodeAt(end - 1);
  if (code >= 0xd800 && code <= 0xdbff) end--;
  return `${msg.slice(0, end)} …[+${msg.length - end} chars]`;
}
