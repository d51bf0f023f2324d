/**
 * How `dev` shows calls: the lines a running call streams, as they come, then one line per call
 * when it ends (time, HTTP status, duration, cold or warm, version, trigger, run id), its error,
 * and the log lines not shown yet. With --json each is an event: `log`, then `call`.
 */
import type { Output } from '../output.js';
import { formatMs } from '../output.js';
import { messageLines, terminalSafe } from '../terminal.js';
import { errorHint } from '../start-check.js';

export interface LogLineView {
  stream: string;
  ts: number;
  msg: string;
  level?: string;
}

/** A run as `dev` shows it: the platform's run record (in process) or the API's (remote). */
export interface RunView {
  runId: string;
  attempt?: number;
  function: string;
  version: string;
  trigger: string;
  cold: boolean;
  initMs: number;
  durationMs: number;
  status: string;
  httpStatus: number;
  errorCode: string | null;
  error: { type: string; message: string; file?: string; line?: number; stack?: string } | null;
  logs?: readonly LogLineView[];
  startedAt: number;
  /** The request's method and path within the function (absent from older platforms). */
  method?: string;
  path?: string;
}

/** Clock time `HH:MM:SS.mmm` in the local time zone. */
export function clock(ts: number): string {
  const d = new Date(ts);
  const pad = (n: number, w = 2): string => String(n).padStart(w, '0');
  return `${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}.${pad(d.getMilliseconds(), 3)}`;
}

/**
 * Text a function wrote, made safe for a terminal (cli/terminal.ts decides what is escaped: escape
 * sequences could retitle, recolor or rewrite the developer's terminal); line breaks are kept.
 */
export function printable(text: string): string {
  return text.split('\n').map((line) => terminalSafe(line)).join('\n');
}

/**
 * `  INFO     greeting world` (the level for `logging` records, else the stream) after `columns`;
 * a message of several lines (`log.exception`'s traceback) is one such line per line, each with
 * the same columns, as `logs` prints it (ADR 0224: `dev` indented the lines after the first, so a
 * `grep 5868c7ce` or `grep ERROR` of its output lost them).
 */
export function formatLogLine(line: LogLineView, columns = ''): string {
  const level = printable(line.level ?? line.stream).padEnd(8);
  return messageLines(line.msg.trimEnd()).map((text) => `${columns}  ${level} ${text}`).join('\n');
}

/** The call's one line: `12:00:01.234  GET /items/3  200  4.6 ms  cold (init 3.6 ms)  v3  http  run 5868c7ce-…`. */
export function formatCall(run: RunView): string {
  const start = run.cold ? `cold (init ${formatMs(run.initMs)})` : 'warm';
  const what = run.status === 'succeeded' ? String(run.httpStatus) : `${run.httpStatus} ${run.errorCode ?? 'failed'}`;
  const attempt = (run.attempt ?? 1) > 1 ? ` attempt ${run.attempt}` : '';
  const request = run.method !== undefined && run.path !== undefined ? `${printable(`${run.method} ${run.path}`)}  ` : '';
  return `${clock(run.startedAt)}  ${request}${what}  ${formatMs(run.durationMs)}  ${start}  v${run.version}  ${run.trigger}${attempt}  run ${run.runId}`;
}

/** `ValueError: bad input (main.py:12)`. */
export function formatError(error: NonNullable<RunView['error']>): string {
  const at = error.file !== undefined ? ` (${error.file}${error.line !== undefined ? `:${error.line}` : ''})` : '';
  return printable(`${error.type}: ${error.message}${at}`);
}

/**
 * Prints calls as they happen. Lines streamed while a call runs are printed at once and
 * remembered (by identity: in process the run record carries the same line objects), so the
 * call's end prints only the lines not shown yet.
 */
export class CallPrinter {
  private readonly shown = new WeakSet<object>();

  /**
   * `dotenv`: the platform reads the folder's .env (dev's own; with --remote nothing sends it), which
   * decides what an error's env hint says; `self` is the CLI as it runs here, for the hint's commands.
   */
  constructor(private readonly out: Output, private readonly hints: { dotenv: boolean; self: string } = { dotenv: true, self: 'fastapi-platform' }) {}

  /** Lines a running call streamed. */
  logs(fn: string, runId: string, lines: readonly LogLineView[]): void {
    for (const line of lines) {
      this.shown.add(line);
      this.out.event({ event: 'log', function: fn, runId, stream: line.stream, ...(line.level !== undefined ? { level: line.level } : {}), ts: line.ts, msg: line.msg });
      this.out.line(formatLogLine(line, `${clock(line.ts)}  ${runId.slice(0, 8)}`));
    }
  }

  /** A call ended. */
  run(run: RunView): void {
    const rest = (run.logs ?? []).filter((l) => !this.shown.has(l));
    this.out.event({
      event: 'call', function: run.function, runId: run.runId, attempt: run.attempt ?? 1, version: run.version, trigger: run.trigger,
      status: run.status, httpStatus: run.httpStatus, cold: run.cold, initMs: run.initMs, durationMs: run.durationMs,
      errorCode: run.errorCode, error: run.error === null ? null : { type: run.error.type, message: run.error.message, file: run.error.file ?? null, line: run.error.line ?? null },
      logs: rest,
    });
    if (this.out.json) return;
    this.out.line(formatCall(run));
    if (run.error !== null) {
      this.out.line(`  error    ${formatError(run.error)}`);
      // What `runs <id>` adds (env the call lacked, as this platform gets it; a module it could not import):
      // dev showed `KeyError: 'API_KEY'` alone (new-user round 9).
      const hint = errorHint({ function: run.function, cause: run.error }, this.hints.self, { dev: this.hints.dotenv });
      if (hint !== null) this.out.line(`  ${hint}`);
    }
    for (const line of rest) this.out.line(formatLogLine(line));
  }
}
