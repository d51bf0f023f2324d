/**
 * The Logs tab's live tail, in one small module so its source can change without the tab: today it
 * polls the function's recent runs (`GET /runs?function=&since=`) and reads each new run's logs
 * (`GET /runs/:id`); when the platform offers a log stream (`GET /api/v1/functions/:name/logs/stream`,
 * Server-Sent Events, in progress on another branch) `openTail` uses it instead — it asks once and
 * falls back to polling on 404. The stream is read with fetch (EventSource cannot send the token).
 */
import { api, enc, type LogLine, type Run } from './api.js';
import { authHeaders } from './auth.js';

export interface TailLine extends LogLine {
  runId: string;
}

export interface Tail {
  /** `polling` or `stream`: what the tab says it is doing. */
  readonly source: 'polling' | 'stream';
  stop(): void;
}

/** Where the SSE log stream will live (one place to change when it lands). */
export function streamPath(name: string): string {
  return `/api/v1/functions/${enc(name)}/logs/stream`;
}

const POLL_MS = 2000;

/** Starts tailing `name`'s logs from now; `onLines` gets new lines in order. */
export async function openTail(name: string, onLines: (lines: TailLine[]) => void, onError: (err: unknown) => void): Promise<Tail> {
  const stream = await tryStream(name, onLines, onError);
  return stream ?? pollTail(name, onLines, onError);
}

async function tryStream(name: string, onLines: (lines: TailLine[]) => void, onError: (err: unknown) => void): Promise<Tail | null> {
  const abort = new AbortController();
  let res: Response;
  try {
    res = await fetch(streamPath(name), { headers: { ...authHeaders(), accept: 'text/event-stream' }, signal: abort.signal });
  } catch {
    return null;
  }
  if (!res.ok || !(res.headers.get('content-type') ?? '').startsWith('text/event-stream') || res.body === null) {
    abort.abort();
    return null;
  }
  const reader = res.body.pipeThrough(new TextDecoderStream()).getReader();
  void (async () => {
    let buffer = '';
    try {
      for (;;) {
        const { value, done } = await reader.read();
        if (done) break;
        buffer += value;
        let end: number;
        while ((end = buffer.indexOf('\n\n')) >= 0) {
          const event = buffer.slice(0, end);
          buffer = buffer.slice(end + 2);
          const data = event.split('\n').filter((l) => l.startsWith('data:')).map((l) => l.slice(5).trimStart()).join('\n');
          if (data === '') continue;
          try {
            const parsed = JSON.parse(data) as Partial<TailLine> & { lines?: TailLine[] };
            onLines(parsed.lines ?? [parsed as TailLine]);
          } catch {
            // Not a log event (a comment or heartbeat).
          }
        }
      }
    } catch (err) {
      if (!abort.signal.aborted) onError(err);
    }
  })();
  return { source: 'stream', stop: () => abort.abort() };
}

function pollTail(name: string, onLines: (lines: TailLine[]) => void, onError: (err: unknown) => void): Tail {
  let since = Date.now() - 5000;
  const seen = new Set<string>();
  let stopped = false;
  let timer: number | undefined;
  const tick = async (): Promise<void> => {
    try {
      const page = await api<{ items: Run[] }>('GET', `/runs?function=${enc(name)}&since=${since}&limit=100`);
      const fresh = page.items.filter((r) => !seen.has(`${r.runId}#${r.attempt ?? 1}`)).reverse();
      for (const r of fresh) {
        seen.add(`${r.runId}#${r.attempt ?? 1}`);
        since = Math.max(since, r.startedAt - 60_000);
        const full = await api<{ run: Run & { attempts?: { attempt: number; logs?: LogLine[] }[] } }>('GET', `/runs/${enc(r.runId)}`);
        const logs = full.run.logs ?? full.run.attempts?.find((a) => a.attempt === (r.attempt ?? 1))?.logs ?? [];
        if (logs.length > 0 && !stopped) onLines(logs.map((l) => ({ ...l, runId: r.runId })));
      }
    } catch (err) {
      onError(err);
    }
    if (!stopped) timer = window.setTimeout(() => void tick(), POLL_MS);
  };
  void tick();
  return {
    source: 'polling',
    stop() {
      stopped = true;
      clearTimeout(timer);
    },
  };
}
