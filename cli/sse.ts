/**
 * A Server-Sent Events client on fetch for `logs --follow`: parses the stream (WHATWG rules: `id`,
 * `event`, `data`, `retry`, comments; an event ends at a blank line), remembers the last event id
 * and sends it as Last-Event-ID when it reconnects — after the platform restarted or the network
 * dropped — with a growing delay, until told to stop. A line longer than MAX_LINE_CHARS ends the
 * connection (the server never sends one; the next connection resumes after the last event), and
 * so does an event whose `data:` lines together grow past it: a hostile server's endless event of
 * short lines held them all in memory (red team round 11).
 */

export interface SseEvent {
  type: string;
  data: string;
  id: string | null;
}

/** What one connection attempt ended with. */
export type Outcome =
  | { kind: 'ended' }
  | { kind: 'refused'; status: number; body: string }
  | { kind: 'unreachable'; message: string }
  | { kind: 'stopped' };

export const MAX_LINE_CHARS = 4 * 1024 * 1024;

/** Feeds text in, calls `onEvent` for each complete event. */
export class SseParser {
  private buffer = '';
  private data: string[] = [];
  /** The characters of `data` (its lines and the line breaks joining them). */
  private dataChars = 0;
  private type = '';
  /** The last event id seen (kept across events, as EventSource does). */
  lastId: string | null = null;
  retryMs: number | null = null;

  constructor(private readonly onEvent: (event: SseEvent) => void) {}

  /** A new connection: what the last one left unfinished (a partial line or event) is dropped, as EventSource drops it. */
  newConnection(): void {
    this.buffer = '';
    this.data = [];
    this.dataChars = 0;
    this.type = '';
  }

  /** False when a line, or an event's data, grew past MAX_LINE_CHARS (the caller drops the connection). */
  push(text: string): boolean {
    this.buffer += text;
    for (;;) {
      const at = this.buffer.search(/\r\n|\r|\n/);
      if (at < 0) break;
      const line = this.buffer.slice(0, at);
      const sep = this.buffer.startsWith('\r\n', at) ? 2 : 1;
      // A lone CR at the very end may be the first half of CRLF: wait for more.
      if (sep === 1 && this.buffer[at] === '\r' && at === this.buffer.length - 1) break;
      this.buffer = this.buffer.slice(at + sep);
      this.line(line);
    }
    return this.buffer.length <= MAX_LINE_CHARS && this.dataChars <= MAX_LINE_CHARS;
  }

  private line(line: string): void {
    if (line === '') {
      if (this.data.length > 0) this.onEvent({ type: this.type || 'message', data: this.data.join('\n'), id: this.lastId });
      this.data = [];
      this.dataChars = 0;
      this.type = '';
      return;
    }
    if (line.startsWith(':')) return;
    const colon = line.indexOf(':');
    const field = colon < 0 ? line : line.slice(0, colon);
    let value = colon < 0 ? '' : line.slice(colon + 1);
    if (value.startsWith(' ')) value = value.slice(1);
    if (field === 'data') {
      if (this.dataChars > MAX_LINE_CHARS) return; // the connection is being dropped (push says so)
      this.data.push(value);
      this.dataChars += value.length + 1;
    }
    else if (field === 'event') this.type = value;
    else if (field === 'id' && !value.includes('\0')) this.lastId = value;
    else if (field === 'retry' && /^[0-9]+$/.test(value)) this.retryMs = Number(value);
  }
}

export interface StreamOptions {
  url: string;
  headers: Record<string, string>;
  signal: AbortSignal;
}

/**
 * One connection, resuming after `parser.lastId`: until the server ends it, refuses it, cannot be
 * reached, or `signal` aborts. Events go to the parser's callback.
 */
export async function connectOnce(options: StreamOptions, parser: SseParser): Promise<Outcome> {
  const headers: Record<string, string> = { accept: 'text/event-stream', ...options.headers };
  if (parser.lastId !== null) headers['last-event-id'] = parser.lastId;
  parser.newConnection();
  let res: Response;
  try {
    res = await fetch(options.url, { headers, signal: options.signal });
  } catch (err) {
    if (options.signal.aborted) return { kind: 'stopped' };
    const cause = (err as { cause?: { code?: string; message?: string } }).cause;
    return { kind: 'unreachable', message: cause?.code ?? cause?.message ?? (err as Error).message };
  }
  if (!res.ok || res.body === null) return { kind: 'refused', status: res.status, body: await res.text().catch(() => '') };
  const decoder = new TextDecoder();
  try {
    for await (const chunk of res.body) {
      if (!parser.push(decoder.decode(chunk as Uint8Array, { stream: true }))) break;
    }
  } catch {
    // The connection dropped (the platform stopped, the network failed) or we stopped.
  }
  return options.signal.aborted ? { kind: 'stopped' } : { kind: 'ended' };
}
