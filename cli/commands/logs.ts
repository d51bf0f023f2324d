/**
 * `logs <fn>`: the function's recent log lines from its stored runs, oldest first; with `--follow`
 * then the live tail (Server-Sent Events from `/api/v1/functions/<fn>/logs/stream`, docs/api.md
 * "Live logs"), reconnecting after a platform restart or a network drop without repeating a line.
 *
 * Joining stored and live lines: every line has an identity (run id, attempt, index in the run's
 * logs), and lines of one run arrive in index order, so the CLI remembers per run the highest
 * index it printed (for the last MAX_RUNS_REMEMBERED runs) and skips anything at or below it.
 * After a `gap` (the platform restarted, or the tail was away longer than the feed keeps lines)
 * it prints the stored lines written since the last line it saw, the same way.
 */
import { flag, int, positionals, str, type ParsedArgs } from '../args.js';
import { checkFunctionName } from '../function-name.js';
import { isAsyncRun, unreachable, type ApiClient, type ApiLogLine } from '../client.js';
import { clientOf, targetOf, type Command, type Context } from '../context.js';
import { CliError, EXIT, usageError } from '../errors.js';
import { connectOnce, SseParser, type SseEvent } from '../sse.js';
import { localIso, messageLines, terminalSafe, withoutSequences } from '../terminal.js';
import { formatMs } from '../output.js';
import { LOG_LEVELS, parseLevel, type LogLevel } from '../../protocol/index.js';
import { parseWhen } from '../when.js';
import { isRunId } from './runs.js';
import { errorsAmongLines, errorsPass, failedRuns, type FailedRun, type RunError } from '../logs-errors.js';
import { functionOfFolder } from '../folder-function.js';
import { didYouMean } from '../near-words.js';

/** Runs whose printed lines are remembered (to skip repeats). */
export const MAX_RUNS_REMEMBERED = 10_000;
/** Live events held while the stored lines are fetched, at most (more are dropped and counted). */
const MAX_HELD = 10_000;
/** How far before a gap's time stored lines are read again (lines are sent in batches, a little late). */
const GAP_MARGIN_MS = 5000;
const RECONNECT_MIN_MS = 250;
const RECONNECT_MAX_MS = 5000;

interface Filters {
  runId?: string;
  level?: LogLevel;
  grep?: string;
}

/** `--since` / `--until` as Unix ms, parsed before any request (cli/when.ts). */
interface Window {
  since?: number;
  until?: number;
}

function windowOf(ctx: Context, args: ParsedArgs): Window {
  const since = str(args, 'since');
  const until = str(args, 'until');
  if (until !== undefined && flag(args, 'follow')) throw usageError('--until goes without --follow (new lines are never before it)');
  const now = ctx.now(); // one instant for both: `--since 2h --until 1h` is one hour
  return {
    ...(since !== undefined ? { since: parseWhen(since, now, 'since') } : {}),
    ...(until !== undefined ? { until: parseWhen(until, now, 'until') } : {}),
  };
}

/** What narrowed the listing, for the "no lines" note: ` at level error or above since …`. */
function describeFilters(filters: Filters, args: ParsedArgs): string {
  const since = str(args, 'since');
  const until = str(args, 'until');
  return [
    filters.level !== undefined ? ` at level ${filters.level} or above` : '',
    filters.grep !== undefined ? ` containing ${JSON.stringify(filters.grep)}` : '',
    since !== undefined && until !== undefined ? ` between ${since} and ${until}` : since !== undefined ? ` since ${since}` : until !== undefined ? ` before ${until}` : '',
  ].join('');
}

/** A line as the live stream's `logs` event carries it. */
interface LiveBatch {
  function: string;
  version: string;
  runId: string;
  attempt: number;
  lines: { i: number; ts: number; stream: string; level?: string; msg: string }[];
}

interface LiveEnd {
  runId: string;
  attempt: number;
  status: string;
  errorCode: string | null;
  httpStatus: number;
  durationMs: number;
  lines: number;
  /** The version that ran it (a platform older than the field: absent). */
  version?: string;
}

/** How long a tail waits for a failed run's record (written off the request path) to name its error. */
const END_ERROR_WAIT_MS = 3000;
/** Failed runs whose error a tail looks up at once; past that their end line stands alone. */
const END_ERROR_LOOKUPS = 4;

/** The error of the attempt `end` ended, from its run record; null when it names none (yet). */
async function endError(client: ApiClient, end: LiveEnd): Promise<RunError | null> {
  const deadline = Date.now() + END_ERROR_WAIT_MS;
  for (;;) {
    const run = await client.getRun(end.runId).catch(() => null);
    const error = run === null ? null : isAsyncRun(run) ? run.attempts.find((a) => a.attempt === end.attempt)?.error ?? null : run.error;
    if (error !== null && error !== undefined) return { type: error.type, message: error.message, ...(error.file !== undefined ? { file: error.file } : {}), ...(error.line !== undefined ? { line: error.line } : {}) };
    if (Date.now() > deadline) return null;
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}

interface Gap {
  reason: string;
  since: number | null;
  dropped: number | null;
}

function filtersOf(args: ParsedArgs): Filters {
  const out: Filters = {};
  const runId = str(args, 'run');
  if (runId !== undefined) {
    if (!isRunId(runId) && !RUN_PREFIX.test(runId)) {
      throw usageError(`--run must be a run id (a UUID, or its first 8 or more characters as the log lines show it), got ${JSON.stringify(runId)}`);
    }
    out.runId = runId.toLowerCase();
  }
  const level = str(args, 'level');
  if (level !== undefined) {
    const parsed = parseLevel(level);
    // `--level eror` names "error", as every other choice does (new-user round 9).
    if (parsed === null) throw usageError(`--level must be one of ${LOG_LEVELS.join(', ')}, got ${JSON.stringify(level)}${didYouMean(level.toLowerCase(), LOG_LEVELS)}`);
    out.level = parsed;
  }
  const grep = str(args, 'grep');
  if (grep !== undefined) {
    if (grep === '' || grep.length > 1000) throw usageError('--grep needs 1 to 1000 characters');
    out.grep = grep;
  }
  return out;
}

/** The start of a run id, as each line shows it (8 characters) or longer. */
const RUN_PREFIX = /^[0-9a-f]{8}(?:[0-9a-f-]{0,28})$/i;

/**
 * The full run id of `--run` given as the prefix the lines show: looked up among the function's
 * newest 1000 runs. A full id is taken as it is.
 */
async function fullRunId(client: ApiClient, fn: string, given: string): Promise<string> {
  if (isRunId(given)) return given;
  const { items } = await client.listRuns({ function: fn, limit: 1000 });
  const found = [...new Set(items.map((r) => r.runId).filter((id) => id.startsWith(given)))];
  if (found.length === 1) return found[0]!;
  if (found.length === 0) throw new CliError(EXIT.API, 'RUN_NOT_FOUND', `no recent run of "${fn}" starts with ${given}; the full ids: fastapi-platform runs ${fn}`);
  throw usageError(`--run ${given} matches ${found.length} runs of "${fn}" (${found.slice(0, 3).join(', ')}…); give more characters`);
}

/** The run id shown on each line: its first 8 characters. */
function shortRun(runId: string): string {
  return terminalSafe(runId.slice(0, 8));
}

function levelText(line: { stream: string; level?: string }): string {
  return terminalSafe((line.level ?? line.stream).slice(0, 16)).padEnd(7);
}

/**
 * Which lines of each run (and attempt) were printed, as index intervals (lines of a run mostly
 * arrive in order: one interval), for the last `max` runs seen — the oldest forgotten first.
 */
export class PrintedLines {
  /** Per run: sorted, disjoint, inclusive [from, to] pairs, flat. */
  private readonly seen = new Map<string, number[]>();

  constructor(private readonly max = MAX_RUNS_REMEMBERED) {}

  /** True the first time a line is offered (it is remembered then); false for one printed before. */
  take(runId: string, attempt: number, i: number): boolean {
    const key = `${runId}#${attempt}`;
    const spans = this.seen.get(key) ?? [];
    let at = 0;
    while (at < spans.length && spans[at + 1]! < i) at += 2;
    if (at < spans.length && spans[at]! <= i) return false;
    // Insert [i, i], merging with the neighbours it touches.
    const joinsBefore = at > 0 && spans[at - 1] === i - 1;
    const joinsAfter = at < spans.length && spans[at] === i + 1;
    if (joinsBefore && joinsAfter) spans.splice(at - 1, 2);
    else if (joinsBefore) spans[at - 1] = i;
    else if (joinsAfter) spans[at] = i;
    else spans.splice(at, 0, i, i);
    this.seen.delete(key);
    this.seen.set(key, spans);
    if (this.seen.size > this.max) this.seen.delete(this.seen.keys().next().value!);
    return true;
  }

  /** Lines of the run printed so far. */
  count(runId: string, attempt: number): number {
    const spans = this.seen.get(`${runId}#${attempt}`) ?? [];
    let n = 0;
    for (let k = 0; k < spans.length; k += 2) n += spans[k + 1]! - spans[k]! + 1;
    return n;
  }
}

class Printer {
  readonly printed = new PrintedLines();
  lines = 0;

  constructor(private readonly ctx: Context, private readonly fn: string, private readonly filtered: boolean) {}

  /**
   * A printed line, never starting a terminal sequence, on a terminal or piped on (a tail is for
   * people; its lines' text is escaped already): the guard of what the server sent besides the
   * text, an end's status and line count among them, which a hostile server at --url wrote raw
   * (`logs -f`: OSC 52, the user's clipboard; red team round 15), as Output.line guards the rest.
   */
  private print(text: string): void {
    this.ctx.io.stdout(withoutSequences(text));
  }

  line(l: { runId: string; attempt: number; i: number; ts: number; stream: string; level?: string; msg: string; version?: string }): void {
    const fresh = this.printed.count(l.runId, l.attempt) === 0;
    if (!this.printed.take(l.runId, l.attempt, l.i)) return;
    this.lines++;
    if (this.ctx.out.json) {
      this.ctx.out.event({ event: 'line', type: 'line', function: this.fn, ...l });
      return;
    }
    if (fresh && l.i > 0 && !this.filtered) this.note(`(${l.i} earlier line${l.i === 1 ? '' : 's'} of run ${shortRun(l.runId)}: shown when it ends)`);
    const attempt = l.attempt > 1 ? `#${l.attempt}` : '';
    const columns = `${localIso(l.ts)} ${shortRun(l.runId)}${attempt} ${levelText(l)} `;
    this.print(messageLines(l.msg).map((text) => `${columns}${text}\n`).join(''));
  }

  /** True when some of the run's lines were not printed (and no filter explains it). */
  incomplete(e: LiveEnd): boolean {
    return !this.filtered && this.printed.count(e.runId, e.attempt) < e.lines;
  }

  end(e: LiveEnd, at: number): void {
    if (this.ctx.out.json) {
      this.ctx.out.event({ event: 'end', type: 'end', function: this.fn, ...e });
      return;
    }
    const outcome = e.status === 'succeeded' ? `ok ${e.httpStatus}` : `${terminalSafe(e.errorCode ?? 'failed')} ${e.httpStatus}`;
    const attempt = e.attempt > 1 ? `#${e.attempt}` : '';
    // The version, as `dev` names it (v2): across a deploy or a rollback, which code answered.
    const version = typeof e.version === 'string' ? ` v${terminalSafe(e.version)}` : '';
    this.print(`${localIso(at)} ${shortRun(e.runId)}${attempt} ${'end'.padEnd(7)} ── ${outcome} in ${formatMs(e.durationMs)} (${e.lines} line${e.lines === 1 ? '' : 's'})${version}\n`);
  }

  /**
   * A failed run's exception, after its end line: a tail showed `── FUNCTION_ERROR 500` and
   * nothing of why (the traceback is in the run record, not in the lines).
   */
  error(e: { runId: string; attempt: number }, error: RunError, at = Date.now()): void {
    if (this.ctx.out.json) {
      this.ctx.out.event({ event: 'error', type: 'error', function: this.fn, runId: e.runId, attempt: e.attempt, error });
      return;
    }
    const attempt = e.attempt > 1 ? `#${e.attempt}` : '';
    const where = error.file !== undefined ? `  (${terminalSafe(error.file)}${error.line !== undefined ? `:${error.line}` : ''})` : '';
    this.print(`${localIso(at)} ${shortRun(e.runId)}${attempt} ${'error'.padEnd(7)} ${terminalSafe(error.type)}: ${terminalSafe(error.message)}${where}\n`);
  }

  /** A note for people (stderr); with --json an event on stdout. */
  note(text: string, event?: Record<string, unknown>): void {
    if (this.ctx.out.json) {
      if (event) this.ctx.out.event(event);
      return;
    }
    this.ctx.out.note(text);
  }
}

function query(filters: Filters, extra: Record<string, string | number | undefined> = {}): string {
  const params = new URLSearchParams();
  for (const [k, v] of Object.entries({ ...filters, ...extra })) if (v !== undefined) params.set(k, String(v));
  const text = params.toString();
  return text === '' ? '' : `?${text}`;
}

async function stored(client: ApiClient, fn: string, filters: Filters, extra: Record<string, string | number | undefined>): Promise<{ lines: ApiLogLine[]; runs: number; more: boolean }> {
  return client.request('GET', `/functions/${encodeURIComponent(fn)}/logs${query(filters, extra)}`);
}

async function printStored(ctx: Context, client: ApiClient, fn: string, filters: Filters, args: ParsedArgs, window: Window): Promise<number> {
  const limit = int(args, 'limit', 200, 1, 5000);
  const answer = await stored(client, fn, filters, { limit, ...window });
  // Failed runs' exceptions among the lines (not with --grep: it selects lines by their text).
  const failed: FailedRun[] = filters.grep === undefined && errorsPass(filters.level)
    ? await failedRuns(client, fn, { ...window, ...(filters.runId !== undefined ? { runId: filters.runId } : {}), ...(answer.more && answer.lines.length > 0 ? { from: answer.lines[0]!.ts } : {}) })
    : [];
  ctx.out.data({ ok: true, function: fn, lines: answer.lines, runs: answer.runs, more: answer.more, errors: failed });
  if (ctx.out.json) return EXIT.OK;
  const printer = new Printer(ctx, fn, true);
  const errors = errorsAmongLines(failed, answer.lines);
  let next = 0;
  for (const line of answer.lines) {
    for (; next < errors.length && errors[next]!.at < line.ts; next++) printer.error(errors[next]!.run, errors[next]!.run.error, errors[next]!.run.ts);
    printer.line(line);
  }
  for (; next < errors.length; next++) printer.error(errors[next]!.run, errors[next]!.run.error, errors[next]!.run.ts);
  if (answer.lines.length === 0) ctx.out.note(`No log lines${describeFilters(filters, args)} in the stored runs of "${fn}" (${answer.runs} read)${failed.length > 0 ? `; ${failed.length} failed run${failed.length === 1 ? '' : 's'} above` : ''}.`);
  if (answer.more) ctx.out.note(`(older lines left out: raise --limit or narrow with --since/--until/--run)`);
  return EXIT.OK;
}

/** `--follow`: stored lines first (the last --limit, default 10), then the live tail until a signal. */
async function follow(ctx: Context, client: ApiClient, fn: string, filters: Filters, args: ParsedArgs, window: Window): Promise<number> {
  const { target } = await targetOf(ctx, args);
  const printer = new Printer(ctx, fn, filters.level !== undefined || filters.grep !== undefined);
  const stop = new AbortController();
  void ctx.waitForSignal().then(() => stop.abort());
  const url = `${target.url}/api/v1/functions/${encodeURIComponent(fn)}/logs/stream${query(filters)}`;
  const headers: Record<string, string> = target.token !== undefined ? { authorization: `Bearer ${target.token}` } : {};
  // The workspace an admin token acts in (a workspace token acts in its own), as the API client sends it.
  if (target.workspace !== undefined) headers['fp-workspace'] = target.workspace;

  // Until the stored lines are printed, live events wait here (bounded).
  let held: SseEvent[] | null = [];
  let heldDropped = 0;
  let backfill: Promise<void>;
  const handle = (event: SseEvent): void => {
    if (held !== null) {
      if (held.length < MAX_HELD) held.push(event);
      else heldDropped++;
      return;
    }
    dispatch(event);
  };
  const dispatch = (event: SseEvent): void => {
    let data: unknown;
    try {
      data = JSON.parse(event.data);
    } catch {
      return;
    }
    if (event.type === 'logs') {
      const batch = data as LiveBatch;
      for (const l of batch.lines ?? []) printer.line({ runId: batch.runId, attempt: batch.attempt, version: batch.version, ...l });
    } else if (event.type === 'end') {
      const end = data as LiveEnd;
      const at = Date.now();
      if (!printer.incomplete(end)) {
        printer.end(end, at);
        showEndError(end);
        stopIfFollowedRunEnded(end);
        return;
      }
      // Lines of this run the tail did not see live (written before it connected or reconnected,
      // or dropped while it fell behind) are in its record now: printed before its end.
      held = [];
      backfill = backfill.then(async () => {
        try {
          const answer = await stored(client, fn, { runId: end.runId }, { limit: 5000 });
          for (const line of answer.lines) if (line.attempt === end.attempt) printer.line(line);
        } catch (err) {
          printer.note(`… could not read the stored lines of run ${shortRun(end.runId)}: ${err instanceof Error ? err.message : String(err)}`);
        }
        printer.end(end, at);
        showEndError(end);
        stopIfFollowedRunEnded(end);
        release();
      });
    } else if (event.type === 'gap') {
      const gap = data as Gap;
      const what = gap.reason === 'behind'
        ? `${gap.dropped ?? 'some'} live lines dropped: this tail read slower than the function wrote`
        : gap.reason === 'restart' ? 'the platform restarted' : 'the live feed no longer holds every line since the last one shown';
      printer.note(`… ${what}${gap.since !== null && gap.reason !== 'behind' ? '; reading stored runs since then' : ''}`, { event: 'gap', type: 'gap', ...gap });
      if (gap.reason !== 'behind' && gap.since !== null) {
        // Held until the stored lines are printed (same way as at the start).
        held = [];
        const since = gap.since - GAP_MARGIN_MS;
        backfill = backfill.then(() => printBackfill(since));
      }
    }
  };
  // A failed run's exception after its end line (not with --grep: it selects lines by their text).
  let lookups = 0;
  let errorsShown: Promise<void> = Promise.resolve();
  const showEndError = (end: LiveEnd): void => {
    if (end.status === 'succeeded' || filters.grep !== undefined || lookups >= END_ERROR_LOOKUPS) return;
    lookups++;
    errorsShown = errorsShown.then(async () => {
      const error = await endError(client, end);
      if (error !== null) printer.error(end, error);
    }).finally(() => { lookups--; });
  };
  // `--run ID`: the tail ends with that run (an async run's attempt ending with a retry to come does not end it).
  const stopIfFollowedRunEnded = (end: LiveEnd): void => {
    if (filters.runId === undefined || end.runId !== filters.runId) return;
    if (end.status === 'succeeded') return stop.abort();
    // Failed: an async run (its record exists from the 202 on) may have a retry to come; a sync
    // run's one attempt was all (its record may not be written yet).
    void client.getRun(end.runId).catch(() => null).then((run) => {
      if (run === null || !isAsyncRun(run) || ['succeeded', 'failed', 'cancelled'].includes(run.state)) stop.abort();
    });
  };
  const printBackfill = async (since: number): Promise<void> => {
    try {
      const answer = await stored(client, fn, filters, { since, limit: 5000 });
      for (const line of answer.lines) printer.line(line);
    } catch (err) {
      printer.note(`… could not read stored lines: ${err instanceof Error ? err.message : String(err)}`);
    }
    release();
  };
  const release = (): void => {
    const events = held ?? [];
    held = null;
    if (heldDropped > 0) printer.note(`… ${heldDropped} live events dropped while stored lines were read`, { event: 'gap', type: 'gap', reason: 'behind', since: null, dropped: heldDropped });
    heldDropped = 0;
    for (let k = 0; k < events.length; k++) {
      // A gap among them started another read of stored lines: the rest wait for it.
      if (held !== null) {
        (held as SseEvent[]).push(...events.slice(k));
        return;
      }
      dispatch(events[k]!);
    }
  };

  // How the last connection failed, while it has not come back (null: connected). A note once per
  // outage and again when its kind changes: a platform that stopped ends the stream first, and then
  // refuses every connection; "the stream ended; reconnecting" stayed the only word while the
  // platform was down for good (newcomer round 10).
  let outage: 'ended' | 'unreachable' | 'refused' | null = null;
  // Whether the stream was ever open: a platform unreachable from the start (not running, a wrong
  // --url) ends the command with exit 5 as `logs` without -f does; it retried in silence after one
  // note, forever (new-user round 15). Once followed, an outage is waited out (a restart).
  let opened = false;
  let delay = RECONNECT_MIN_MS;
  const parser = new SseParser((event) => {
    if (event.type !== 'ready') {
      handle(event);
      return;
    }
    let ready: Record<string, unknown> = {};
    try {
      ready = JSON.parse(event.data) as Record<string, unknown>;
    } catch {
      // an empty ready is still a connection
    }
    printer.note(outage !== null ? '… reconnected' : `Following "${fn}" (Ctrl-C to stop)`, { event: 'ready', type: 'ready', ...ready });
    outage = null;
    opened = true;
    delay = RECONNECT_MIN_MS;
  });

  // Subscribe first, then read the stored lines: nothing written in between is lost (repeats are skipped).
  const history = int(args, 'limit', 10, 0, 5000);
  backfill = (async () => {
    if (history > 0) {
      try {
        const answer = await stored(client, fn, filters, { limit: history, ...window });
        for (const line of answer.lines) printer.line(line);
      } catch (err) {
        // `--run` of a run still going: no attempt is stored before it ends; its live lines follow.
        if (err instanceof CliError && err.code === 'RUN_NOT_FOUND' && filters.runId !== undefined) {
          printer.note(`(run ${shortRun(filters.runId)} has no stored lines yet: following its live lines until it ends)`);
        } else if (err instanceof CliError && (err.exitCode === EXIT.API || (err.exitCode === EXIT.UNREACHABLE && !opened))) {
          // A refusal (no such function, a bad token) ends the command, like the stream's own; so
          // does a platform not reached yet.
          stop.abort();
          throw err;
        } else {
          printer.note(`… could not read stored lines: ${err instanceof Error ? err.message : String(err)}`);
        }
      }
    }
    release();
  })();
  const initial = backfill;
  initial.catch(() => {});

  while (!stop.signal.aborted) {
    const outcome = await connectOnce({ url, headers, signal: stop.signal }, parser);
    if (outcome.kind === 'stopped' || stop.signal.aborted) break;
    if (outcome.kind === 'refused') {
      const refusal = apiRefusal(outcome.status, outcome.body);
      if (refusal !== null) throw refusal;
    }
    if (outcome.kind === 'unreachable' && !opened) {
      stop.abort();
      throw unreachable(client.baseUrl, outcome.message);
    }
    if (outage !== outcome.kind) {
      outage = outcome.kind;
      printer.note(
        outcome.kind === 'unreachable' ? `… the platform is unreachable (${outcome.message}); retrying`
          : outcome.kind === 'refused' ? `… the platform answered ${outcome.status}; retrying`
            : '… the stream ended; reconnecting',
        { event: 'disconnected', type: 'disconnected', reason: outcome.kind },
      );
    }
    await sleep(parser.retryMs !== null ? Math.min(delay, parser.retryMs) : delay, stop.signal);
    delay = Math.min(delay * 2, RECONNECT_MAX_MS);
  }
  await initial;
  // `--run`: the tail ended with its run; its error (if it failed) is the last thing it shows.
  if (filters.runId !== undefined) await errorsShown;
  ctx.out.event({ event: 'stopped', type: 'stopped', lines: printer.lines });
  return EXIT.OK;
}

/** A refusal that retrying will not fix (4xx: no function, bad token, bad filter), as the CLI's error; else null. */
function apiRefusal(status: number, body: string): CliError | null {
  if (status < 400 || status >= 500) return null;
  let code = `HTTP_${status}`;
  let message = `the live-logs stream answered ${status}`;
  try {
    const parsed = JSON.parse(body) as { error?: { code?: string; message?: string } };
    if (parsed.error?.code) code = parsed.error.code;
    if (parsed.error?.message) message = parsed.error.message;
  } catch {
    // keep the status
  }
  if (status === 401 || status === 403) message += '. Pass a token with the role viewer or above (--token, FP_TOKEN or --profile).';
  return new CliError(EXIT.API, code, message, { status });
}

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal.aborted) {
      resolve();
      return;
    }
    const timer = setTimeout(done, ms);
    function done(): void {
      clearTimeout(timer);
      signal.removeEventListener('abort', done);
      resolve();
    }
    signal.addEventListener('abort', done, { once: true });
  });
}

async function run(ctx: Context, args: ParsedArgs): Promise<number> {
  const fn = positionals(args, 1, 'logs')[0] ?? functionOfFolder(ctx.cwd) ?? undefined;
  if (fn === undefined) throw usageError('logs needs the function name: fastapi-platform logs <fn> [--follow] (or run it in a function\'s folder)');
  checkFunctionName(fn);
  const filters = filtersOf(args);
  const window = windowOf(ctx, args);
  const client = await clientOf(ctx, args);
  if (filters.runId !== undefined) filters.runId = await fullRunId(client, fn, filters.runId);
  if (flag(args, 'follow') && filters.runId !== undefined && (await runEnded(client, filters.runId))) {
    // Nothing more will come: its lines, and the command ends (it used to follow until Ctrl-C).
    ctx.out.note(`(run ${shortRun(filters.runId)} has ended: its stored lines, nothing more to follow)`);
    if (ctx.out.json) {
      // --follow --json promises one object per line (line, …, stopped): the same here, not the listing's document.
      const printer = new Printer(ctx, fn, true);
      const limit = int(args, 'limit', 200, 0, 5000);
      const answer = limit > 0 ? await stored(client, fn, filters, { limit, ...window }) : { lines: [] };
      for (const line of answer.lines) printer.line(line);
      ctx.out.event({ event: 'stopped', type: 'stopped', lines: printer.lines });
      return EXIT.OK;
    }
    return printStored(ctx, client, fn, filters, args, window);
  }
  return flag(args, 'follow') ? follow(ctx, client, fn, filters, args, window) : printStored(ctx, client, fn, filters, args, window);
}

/**
 * Whether a run is over: an async run in a final state, or a sync run with a record (written when
 * it ends). A run not recorded yet (a sync call in flight, an unknown id) is not.
 */
async function runEnded(client: ApiClient, runId: string): Promise<boolean> {
  const run = await client.getRun(runId).catch(() => null);
  if (run === null) return false;
  return isAsyncRun(run) ? ['succeeded', 'failed', 'cancelled'].includes(run.state) : true;
}

export const logsCommand: Command = {
  name: 'logs',
  summary: "show a function's recent log lines; --follow streams new ones live",
  usage: 'logs <fn> [--follow] [--run ID] [--since 10m] [--until 5m] [--level LEVEL] [--grep TEXT] [-n N]',
  examples: [
    'logs my-fn -f',
    'logs my-fn --since 10m --level error',
    'logs my-fn --run <runId>',
  ],
  details: [
    "In a function's folder (platform.yaml with name: in the current directory) the name may be left out.",
    'Each line: local time, run id (first 8 characters), level (or stdout/stderr), message. Control',
    'characters in messages are shown escaped (\\n, \\x1b), never sent to the terminal.',
    'Levels, lowest first: debug, info, warning, error, critical; print() counts as info, stderr as error,',
    'a line that is one JSON object naming its level (structlog, python-json-logger, loguru) as that level,',
    'the platform\'s note that lines were dropped (level column: platform) as warning.',
    'Without --follow: the newest --limit lines (default 200) of the stored runs, oldest first, and',
    "failed runs' exceptions among them (error  KeyError: 'sku'  (main.py:12)) where each run ended.",
    'With --follow: the last --limit lines (default 10), then new lines as the functions write them —',
    'lines of a call that is then killed (timeout, memory) included — and the end of each run, a failed',
    "run's followed by its exception (error  KeyError: 'sku'  (main.py:12)), as `runs <id>` shows it.",
    'It reconnects after a platform restart or a network drop without repeating lines; Ctrl-C stops.',
    'A platform it never reached (not running, a wrong --url) ends it: exit 5, UNREACHABLE.',
    '--json: one document; with --follow one JSON object per line (type line, end, error, gap, ready, stopped).',
  ].join('\n'),
  options: {
    follow: { type: 'boolean', short: 'f', description: 'keep streaming new lines as they are written' },
    run: { type: 'string', value: 'ID', description: 'only the lines of this run (its id, or the first 8+ characters the lines show)' },
    since: { type: 'string', value: 'WHEN', description: 'only lines since then: 10m, 2h, 1d, 1w ago, or an ISO 8601 time / Unix ms' },
    until: { type: 'string', value: 'WHEN', description: 'only lines before then (as --since; not with --follow)' },
    level: { type: 'string', value: 'LEVEL', description: `only lines at this level or above (${LOG_LEVELS.join(', ')})` },
    grep: { type: 'string', value: 'TEXT', description: 'only lines containing TEXT (case-sensitive)' },
    limit: { type: 'string', short: 'n', value: 'N', description: 'stored lines to show (default 200; with --follow 10; at most 5000)' },
  },
  streams: (args) => flag(args, 'follow'),
  run,
};
