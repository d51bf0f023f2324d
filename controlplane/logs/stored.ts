/**
 * A function's recent lines from its stored run records (`GET /functions/{name}/logs`): runs are
 * read newest first, each with its attempts, until enough lines pass the filters; the answer is
 * the newest `limit` of them, oldest first. Bounded: at most MAX_RUNS runs and about
 * MAX_SCAN_CHARS of log text are read, and about MAX_TEXT_CHARS of text returned (`more` says that
 * older lines were left out). Reading a record parses its whole log on the event loop: without the
 * bound on what is read, a query whose filter matches nothing parsed 500 full logs (~125 MiB, about
 * 0.5 s), and a few at a time held every function's calls for seconds (red team, December 2026).
 */
import { capLine, PlatformError, type ApiStoredLogLine, type RunRecord } from '../../protocol/index.js';
import { ofIncarnation } from '../runs/incarnation.js';
import type { RunStore } from '../store/index.js';
import { keepLine, type LineFilter } from './filter.js';

export interface StoredQuery extends LineFilter {
  function: string;
  /** Lines at or after this time (ms); runs that started up to LOOKBACK_MS earlier are read. */
  since?: number;
  /** Lines before this time (ms). */
  until?: number;
  limit: number;
  /**
   * The createdAt of the function now under `function` (undefined: none): a run by `runId` of
   * another incarnation (one deleted and created again) is not found (runs/incarnation.ts).
   */
  born?: number;
}

/** A line as the API answers it (protocol/api-runs.ts): with runId and attempt, `i` (its index in the run's record `logs`) is its identity. */
export type StoredLine = ApiStoredLogLine;

export interface StoredLines {
  lines: StoredLine[];
  /** Runs read. */
  runs: number;
  /** Older lines exist than the ones returned (limit, run or size bound reached). */
  more: boolean;
}

export const MAX_RUNS = 500;
export const MAX_TEXT_CHARS = 4 * 1024 * 1024;
/** Log text read per query, whether it passes the filters or not (32 full logs of 256 KiB). */
export const MAX_SCAN_CHARS = 8 * 1024 * 1024;
/** How far before `since` a run may have started and still have lines after it. */
export const LOOKBACK_MS = 15 * 60_000;
const PAGE = 50;
const PARALLEL = 8;

export async function storedLines(runs: RunStore, q: StoredQuery): Promise<StoredLines> {
  if (q.runId !== undefined) {
    const [attempts, newest] = await Promise.all([runs.attempts(q.runId), runs.get(q.runId)]);
    if (attempts.length === 0 || attempts[0]!.function !== q.function || !ofIncarnation(q.born, newest?.fnCreatedAt, newest?.startedAt ?? attempts.at(-1)!.startedAt)) {
      throw new PlatformError('RUN_NOT_FOUND', `function "${q.function}" has no run ${q.runId}`, { field: 'runId' });
    }
    return finish(attempts.flatMap((r) => linesOf(r, q)), 1, false, q.limit);
  }
  const found: StoredLine[] = [];
  let scanned = 0;
  let chars = 0;
  let read = 0;
  let cursor: string | undefined;
  let more = false;
  for (;;) {
    const page = await runs.list({
      function: q.function,
      ...(q.since !== undefined ? { since: q.since - LOOKBACK_MS } : {}),
      ...(q.until !== undefined ? { until: q.until } : {}),
      limit: Math.min(PAGE, MAX_RUNS - scanned),
      ...(cursor !== undefined ? { cursor } : {}),
    });
    let taken = 0;
    for (let at = 0; at < page.items.length && read < MAX_SCAN_CHARS; at += PARALLEL) {
      // A turn of the event loop between batches: the embedded store answers synchronously, so a
      // whole query (and every query queued behind it) would otherwise run as one block of microtasks.
      if (at > 0 || scanned > 0) await new Promise<void>((resolve) => setImmediate(resolve));
      const records = await Promise.all(page.items.slice(at, at + PARALLEL).map((r) => runs.attempts(r.runId)));
      taken = Math.min(page.items.length, at + PARALLEL);
      for (const attempts of records) for (const r of attempts) {
        for (const l of r.logs) read += typeof l.msg === 'string' ? l.msg.length : 0;
        for (const line of linesOf(r, q)) {
          found.push(line);
          chars += line.msg.length;
        }
      }
    }
    scanned += taken;
    // Read enough: whatever is left (in this page or after it) is older than what was read.
    if (read >= MAX_SCAN_CHARS) {
      more = taken < page.items.length || page.nextCursor !== null;
      break;
    }
    // Enough: this page's runs are all older than every run still unread.
    if (found.length >= q.limit || chars >= MAX_TEXT_CHARS) {
      more = page.nextCursor !== null;
      break;
    }
    if (page.nextCursor === null) break;
    if (scanned >= MAX_RUNS) {
      more = true;
      break;
    }
    cursor = page.nextCursor;
  }
  return finish(found, scanned, more, q.limit);
}

function linesOf(r: RunRecord, q: StoredQuery): StoredLine[] {
  const out: StoredLine[] = [];
  r.logs.forEach((l, i) => {
    if (q.since !== undefined && l.ts < q.since) return;
    if (q.until !== undefined && l.ts >= q.until) return;
    if (typeof l.msg !== 'string' || !keepLine(l, q)) return;
    const line: StoredLine = { runId: r.runId, attempt: r.attempt ?? 1, version: r.version, i, ts: l.ts, stream: l.stream, msg: capLine(l.msg) };
    if (l.level !== undefined) line.level = l.level;
    out.push(line);
  });
  return out;
}

/** The newest `limit` lines, oldest first (by time; a run's lines keep their order); and the text bound. */
function finish(lines: StoredLine[], runs: number, more: boolean, limit: number): StoredLines {
  lines.sort((a, b) => a.ts - b.ts || (a.runId < b.runId ? -1 : a.runId > b.runId ? 1 : 0) || a.attempt - b.attempt || a.i - b.i);
  let out = lines.length > limit ? lines.slice(lines.length - limit) : lines;
  let chars = 0;
  let first = out.length;
  while (first > 0 && chars + out[first - 1]!.msg.length <= MAX_TEXT_CHARS) chars += out[--first]!.msg.length;
  const cut = first > 0 || lines.length > limit;
  out = out.slice(first);
  return { lines: out, runs, more: more || cut };
}
