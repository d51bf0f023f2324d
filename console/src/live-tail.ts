/**
 * The Logs tab's live tail: the platform's one live-log stream, `GET /api/v1/functions/:name/logs/stream`
 * (Server-Sent Events, docs/api.md "Live logs", ADR 0014), read with fetch because EventSource
 * cannot send the Authorization header (the token never goes into a URL). Like `logs --follow`:
 * reconnects after a drop with `Last-Event-ID` (the stream resumes after the last event, without
 * repeats), and after a `gap` event reads the stored lines since its `since`
 * (`GET …/logs?since=`), adding only those not shown yet (a line's identity: run, attempt, index).
 * Filters stay in the page (changing one does not reconnect); every text shown is the function's,
 * rendered as text by the tab.
 */
import { api, enc, type LogLine } from './api.js';
import { authHeaders } from './auth.js';
import { atLeast as levelAtLeast, parseLevel } from '../../protocol/live-logs.js';

export interface TailLine extends LogLine {
  runId: string;
  attempt?: number;
  /** The line's index in its run's logs (stored and live lines share it). */
  i?: number;
}

/** A run that ended while tailed (the stream's `end` event). */
export interface TailEnd {
  runId: string;
  attempt: number;
  status: string;
  errorCode: string | null;
  httpStatus: number | null;
  durationMs: number | null;
}

export type TailState = 'connecting' | 'live' | 'reconnecting' | 'stopped';

export interface TailHandlers {
  onLines(lines: TailLine[]): void;
  onEnd?(end: TailEnd): void;
  onState?(state: TailState): void;
  onError?(err: unknown): void;
}

export interface Tail {
  stop(): void;
}

/** The stream's address (the one live-log mechanism). */
export function streamPath(name: string): string {
  return `/api/v1/functions/${enc(name)}/logs/stream`;
}

/** One parsed Server-Sent Event. */
export interface SseEvent {
  id: string | null;
  event: string;
  data: string;
}

/** Splits SSE text into complete events; returns them and the unfinished rest. */
export function parseSse(buffer: string): { events: SseEvent[]; rest: string } {
  const events: SseEvent[] = [];
  // A chunk may end between the \r and the \n of a line end: keep that \r for the next one.
  const held = buffer.endsWith('\r') ? '\r' : '';
  const text = (held === '' ? buffer : buffer.slice(0, -1)).replace(/\r\n?/g, '\n');
  let start = 0;
  let end: number;
  while ((end = text.indexOf('\n\n', start)) >= 0) {
    const block = text.slice(start, end);
    start = end + 2;
    let id: string | null = null;
    let event = 'message';
    const data: string[] = [];
    for (const line of block.split('\n')) {
      if (line === '' || line.startsWith(':')) continue;
      const colon = line.indexOf(':');
      const field = colon < 0 ? line : line.slice(0, colon);
      const value = colon < 0 ? '' : line.slice(colon + 1).replace(/^ /, '');
      if (field === 'id') id = value;
      else if (field === 'event') event = value;
      else if (field === 'data') data.push(value);
    }
    if (data.length > 0 || id !== null) events.push({ id, event, data: data.join('\n') });
  }
  return { events, rest: text.slice(start) + held };
}

/**
 * The level filter of the stored-logs API (docs/api.md "Logs"), in the page: that level or above,
 * by the API's own rule (protocol/live-logs.ts `atLeast`): `print` (stdout) counts as info, stderr
 * as error, `logging` lines by their level (`warn`, `fatal` too; a level of the function's own
 * naming, `NOTICE`, as info), the platform's note as warning. `''`: any. The page had a copy of
 * its own that hid a line at a level it did not know under every filter, which the API counts as info.
 */
export function atLeast(line: Pick<LogLine, 'stream' | 'level'>, level: string): boolean {
  const min = parseLevel(level);
  return min === null || levelAtLeast(line, min);
}

const RETRY_MS = 2000;
const SEEN_MAX = 5000;

/** Starts tailing `name`'s logs from now. */
export function openTail(name: string, handlers: TailHandlers): Tail {
  const abort = new AbortController();
  let lastId: string | null = null;
  let stopped = false;
  // Identities of lines shown, so lines read back after a gap are not shown twice.
  const seen = new Set<string>();
  const show = (lines: TailLine[]): void => {
    const fresh = lines.filter((l) => {
      const key = `${l.runId}#${l.attempt ?? 1}#${l.i ?? `${l.ts}:${l.msg}`}`;
      if (seen.has(key)) return false;
      seen.add(key);
      return true;
    });
    while (seen.size > SEEN_MAX) seen.delete(seen.values().next().value as string);
    if (fresh.length > 0 && !stopped) handlers.onLines(fresh);
  };

  const fillGap = async (since: number): Promise<void> => {
    const page = await api<{ lines: (LogLine & { runId: string; attempt: number; i: number })[] }>('GET', `/functions/${enc(name)}/logs?since=${since}&limit=1000`);
    show(page.lines);
  };

  const handle = (ev: SseEvent): void => {
    if (ev.id !== null) lastId = ev.id;
    if (ev.data === '') return;
    let data: Record<string, unknown>;
    try {
      data = JSON.parse(ev.data) as Record<string, unknown>;
    } catch {
      return;
    }
    if (ev.event === 'ready') handlers.onState?.('live');
    else if (ev.event === 'logs') {
      const runId = String(data['runId']);
      const attempt = Number(data['attempt'] ?? 1);
      show(((data['lines'] as Omit<TailLine, 'runId'>[] | undefined) ?? []).map((l) => ({ ...l, runId, attempt })));
    } else if (ev.event === 'end') {
      handlers.onEnd?.({ runId: String(data['runId']), attempt: Number(data['attempt'] ?? 1), status: String(data['status']), errorCode: (data['errorCode'] as string | null) ?? null, httpStatus: (data['httpStatus'] as number | null) ?? null, durationMs: (data['durationMs'] as number | null) ?? null });
    } else if (ev.event === 'gap') {
      const since = Number(data['since']);
      if (Number.isFinite(since)) void fillGap(since).catch((err) => handlers.onError?.(err));
    }
  };

  const connect = async (): Promise<void> => {
    handlers.onState?.(lastId === null ? 'connecting' : 'reconnecting');
    const headers: Record<string, string> = { ...authHeaders(), accept: 'text/event-stream' };
    if (lastId !== null) headers['last-event-id'] = lastId;
    const res = await fetch(streamPath(name), { headers, signal: abort.signal, cache: 'no-store' });
    if (!res.ok || res.body === null) {
      let message = `the log stream answered ${res.status}`;
      try {
        const body = (await res.json()) as { error?: { code?: string; message?: string } };
        if (body.error?.message) message = `${body.error.code ?? ''} ${body.error.message}`.trim();
      } catch {
        // not JSON
      }
      throw Object.assign(new Error(message), { status: res.status });
    }
    const reader = res.body.pipeThrough(new TextDecoderStream()).getReader();
    let buffer = '';
    for (;;) {
      const { value, done } = await reader.read();
      if (done) return;
      const parsed = parseSse(buffer + value);
      buffer = parsed.rest;
      for (const ev of parsed.events) handle(ev);
    }
  };

  void (async () => {
    while (!stopped) {
      try {
        await connect();
      } catch (err) {
        if (stopped) break;
        const status = (err as { status?: number }).status;
        handlers.onError?.(err);
        // Refusals that a retry cannot fix (auth, unknown function, bad request) end the tail.
        if (status !== undefined && status >= 400 && status < 500 && status !== 429) break;
      }
      if (stopped) break;
      handlers.onState?.('reconnecting');
      await new Promise((r) => setTimeout(r, RETRY_MS));
    }
    if (!abort.signal.aborted) handlers.onState?.('stopped');
  })();

  return {
    stop() {
      stopped = true;
      abort.abort();
    },
  };
}
