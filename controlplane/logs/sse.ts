/**
 * Server-Sent Events framing for the live-logs endpoint (docs/api.md, "Live logs"). Each event is
 * `id:`, `event:` and ONE `data:` line of JSON: JSON.stringify escapes CR and LF, so nothing a
 * function prints (`\n\ndata: fake`) can end an event or start another; ids and event names are
 * ours. A comment line keeps idle connections (and proxies) open.
 */
import type { FeedEntry, FeedEvent } from './entries.js';
import type { Gap } from './feed.js';

/** Reconnect delay asked of EventSource clients, ms. */
export const RETRY_MS = 2000;
/** A comment is sent after this long without an event. */
export const KEEPALIVE_MS = 15_000;
export const KEEPALIVE = ': keepalive\n\n';

export type LiveEventType = 'ready' | 'logs' | 'end' | 'gap';

export function sseEvent(type: LiveEventType, data: unknown, id?: string): string {
  return `${id !== undefined ? `id: ${id}\n` : ''}event: ${type}\ndata: ${JSON.stringify(data)}\n\n`;
}

/** The stream's first bytes: the reconnect delay, then `ready` with the position it starts after. */
export function readyEvent(fn: string, start: string, resumedFrom: string | null): string {
  return `retry: ${RETRY_MS}\n\n${sseEvent('ready', { function: fn, resumedFrom }, start)}`;
}

/** An entry (already filtered) as its event: `logs` or `end`, with its id. */
export function entryEvent(entry: FeedEntry, event: FeedEvent): string {
  // `startedAt` is the feed's own (which incarnation of the function a run belongs to), not the stream's.
  if (event.kind === 'lines') {
    const { kind: _kind, startedAt: _startedAt, ...data } = event;
    return sseEvent('logs', data, entry.key);
  }
  const { kind: _kind, startedAt: _startedAt, ...data } = event;
  return sseEvent('end', data, entry.key);
}

export function gapEvent(gap: Gap, position: string): string {
  return sseEvent('gap', gap, position);
}
