/**
 * The filters of both log endpoints (stored and live): one run, a lowest level, a text. The text is
 * a plain case-sensitive substring (no regular expression: nothing a caller sends can make the
 * server work hard).
 */
import { atLeast, type LogLevel, type LogLine } from '../../protocol/index.js';
import type { FeedEvent } from './entries.js';

export interface LineFilter {
  runId?: string;
  level?: LogLevel;
  grep?: string;
}

export function keepLine(line: LogLine, f: LineFilter): boolean {
  if (f.level !== undefined && !atLeast(line, f.level)) return false;
  if (f.grep !== undefined && !line.msg.includes(f.grep)) return false;
  return true;
}

/**
 * The event as this reader should get it (lines filtered), or null when nothing of it passes. The
 * end of a run passes the run filter, and a level filter as `error` when it failed, `info` when
 * not; with a text filter, only lines are sent.
 */
export function filterEvent(event: FeedEvent, f: LineFilter): FeedEvent | null {
  if (f.runId !== undefined && event.runId !== f.runId) return null;
  if (event.kind === 'end') {
    if (f.grep !== undefined) return null;
    if (f.level !== undefined && !atLeast({ stream: event.status === 'failed' ? 'stderr' : 'stdout' }, f.level)) return null;
    return event;
  }
  if (f.level === undefined && f.grep === undefined) return event;
  const lines = event.lines.filter((l) => keepLine(l, f));
  return lines.length === 0 ? null : { ...event, lines };
}
