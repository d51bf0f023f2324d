/**
 * What a log feed carries: events (a run's lines, or the end of a run) made from what the pool and
 * the gateway publish. Lines come from function code, so they are normalized here, once, before any
 * feed stores them: a message is a string cut to MAX_LIVE_LINE_CHARS, the stream one of four
 * names, the time a finite number; a big batch becomes several events of bounded size.
 */
import { capLine, type LiveLines, type LiveRunEnd, type LogLine } from '../../protocol/index.js';
import type { FeedId } from './ids.js';

/** A line as a feed carries it: `i` is its index in the run's record `logs` (its identity with the run and attempt). */
export interface FeedLine extends LogLine {
  i: number;
}

export type FeedEvent =
  | { kind: 'lines'; function: string; version: string; runId: string; attempt: number; lines: FeedLine[]; startedAt?: number }
  // `startedAt` may be absent in entries another (older) process wrote to a shared feed.
  | ({ kind: 'end' } & Omit<LiveRunEnd, 'startedAt'> & { startedAt?: number });

/**
 * Whether an entry is of a run that began before `createdAt` (the creation of the function a reader
 * tails): a deleted function's, under the same key (red team 6). Entries without a start time are
 * judged by when they were published.
 */
export function beforeIncarnation(entry: FeedEntry, createdAt: number): boolean {
  return (entry.event.startedAt ?? entry.id.ms) < createdAt;
}

/** One entry of a function's feed. */
export interface FeedEntry {
  id: FeedId;
  /** `id` as text: the SSE event id. */
  key: string;
  event: FeedEvent;
  /** Lines in this entry (0 for an end). */
  n: number;
  /** Lines in the function's feed up to and including this entry (what a reader that fell behind uses to count the dropped ones). */
  c: number;
  /** About what the entry costs in memory (for the feed's bounds). */
  bytes: number;
}

/** The most message text one event carries; a bigger batch is split. */
export const MAX_EVENT_CHARS = 32 * 1024;
const LINE_OVERHEAD = 64;
// `platform`: the platform's own notes (protocol/runtime-reports.ts PLATFORM_STREAM), set by the pool.
const STREAMS: ReadonlySet<string> = new Set(['stdout', 'stderr', 'log', 'platform']);

function cleanLine(raw: unknown, i: number): FeedLine {
  const l = (typeof raw === 'object' && raw !== null ? raw : {}) as Record<string, unknown>;
  const line: FeedLine = {
    i,
    ts: typeof l['ts'] === 'number' && Number.isFinite(l['ts']) ? l['ts'] : 0,
    stream: typeof l['stream'] === 'string' && STREAMS.has(l['stream']) ? l['stream'] : 'stdout',
    msg: typeof l['msg'] === 'string' ? capLine(l['msg']) : '',
  };
  if (typeof l['level'] === 'string' && l['level'].length > 0 && l['level'].length <= 16) line.level = l['level'];
  return line;
}

/** A batch of lines as one or more events, each at most about MAX_EVENT_CHARS of text. */
export function lineEvents(batch: LiveLines): { event: FeedEvent; n: number; bytes: number }[] {
  const out: { event: FeedEvent; n: number; bytes: number }[] = [];
  let lines: FeedLine[] = [];
  let size = 0;
  const flush = (): void => {
    if (lines.length === 0) return;
    out.push({
      event: { kind: 'lines', function: batch.function, version: batch.version, runId: batch.runId, attempt: batch.attempt, lines, startedAt: batch.startedAt },
      n: lines.length,
      bytes: size + 256,
    });
    lines = [];
    size = 0;
  };
  for (let k = 0; k < batch.lines.length; k++) {
    const line = cleanLine(batch.lines[k], batch.seq + k);
    const cost = line.msg.length + LINE_OVERHEAD;
    if (size + cost > MAX_EVENT_CHARS) flush();
    lines.push(line);
    size += cost;
  }
  flush();
  return out;
}

export function endEvent(run: LiveRunEnd): { event: FeedEvent; n: number; bytes: number } {
  return { event: { kind: 'end', ...run }, n: 0, bytes: 256 };
}
