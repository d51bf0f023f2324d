/**
 * A function's logs (docs/api.md, "Logs"): `GET /functions/{name}/logs` reads the lines of its
 * stored runs; `GET /functions/{name}/logs/stream` is the live tail, Server-Sent Events fed by the
 * log feed while calls run (lines of a call later killed included), resumable after an event id.
 */
import { PlatformError, type Pairs, type StreamSink } from '../../protocol/index.js';
import {
  beforeIncarnation, entryEvent, filterEvent, gapEvent, KEEPALIVE, KEEPALIVE_MS, parseFeedId, readyEvent, storedLines,
  type FeedId, type FeedSubscription, type LineFilter,
} from '../logs/index.js';
import { getFunction } from '../service/functions.js';
import type { TokenIndex } from '../service/tokens.js';
import { eventStream, logsAnswer } from './answers.js';
import { json } from './http.js';
import { operation } from './router.js';
import { logStreamQuery, logsQuery } from './schemas.js';
import { functionParam } from './validate.js';

const tag = 'logs';
/** Lines a listing returns when `limit` is not given. */
export const DEFAULT_LOG_LIMIT = 200;

export const functionLogs = operation(
  {
    id: 'functionLogs', tag, role: 'viewer', summary: "The function's recent log lines from its stored runs, oldest first (filters: since, until, runId, level, grep)",
    query: logsQuery,
    answers: { 200: { description: 'Up to `limit` lines, the newest that pass the filters, oldest first; `more` when older ones were left out', schema: logsAnswer } },
    errors: ['RUN_NOT_FOUND'],
  },
  async (call, input) => {
    const { name, key } = functionParam(call.params[0]!, call.scope);
    const q = input.query();
    await getFunction(call.ctx, key);
    // Read-your-writes, bounded as for run lists: a run recorded just before is in the answer.
    await call.ctx.runs.runs.flush(1000);
    // One such read at a time per workspace in this process: a tenant's many queries at once wait
    // for each other instead of taking turns on the event loop with every other function's calls.
    const found = await call.ctx.locks.run(`stored-logs:${call.scope.workspace}`, () => storedLines(call.ctx.store.runs, { ...q, function: key, limit: q.limit ?? DEFAULT_LOG_LIMIT, born: call.ctx.registry.recordOf(key)?.createdAt }));
    return json(200, { function: name, ...found });
  },
);

const STREAM_HEADERS: Pairs = [
  ['content-type', 'text/event-stream'],
  ['cache-control', 'no-cache, no-transform'],
  // Proxies (nginx) must pass events on as they come.
  ['x-accel-buffering', 'no'],
];

export const streamLogs = operation(
  {
    id: 'streamLogs', tag, role: 'viewer',
    summary: 'Live log lines of the function as its calls write them (Server-Sent Events; resumes after the Last-Event-ID header or `lastEventId`)',
    query: logStreamQuery,
    answers: { 200: { description: 'An endless event stream: `ready`, then `logs`, `end` and `gap` events (docs/api.md, "Live logs")', schema: eventStream, contentType: 'text/event-stream' } },
    errors: ['LOG_STREAM_LIMIT', 'LOGS_UNAVAILABLE'],
  },
  async (call, input) => {
    const { name, key } = functionParam(call.params[0]!, call.scope);
    const q = input.query();
    const after = resumePoint(call.req.headers, q.lastEventId);
    const { createdAt } = await getFunction(call.ctx, key);
    const feed = call.ctx.logs;
    if (feed === null) throw new PlatformError('LOGS_UNAVAILABLE', 'this platform process serves no live logs');
    const filter: LineFilter = {
      ...(q.runId !== undefined ? { runId: q.runId } : {}),
      ...(q.level !== undefined ? { level: q.level } : {}),
      ...(q.grep !== undefined ? { grep: q.grep } : {}),
    };
    // The feed is keyed by the function key (what the pool and the gateway publish under).
    const sub = await feed.subscribe(key, after);
    const resumedFrom = after === null ? null : `${after.ms}-${after.seq}`;
    return {
      status: 200,
      headers: [...STREAM_HEADERS],
      stream: {
        start: (sink) => void pump(sub, sink, name, filter, resumedFrom, call.ctx.log, incarnation(call.ctx.registry, key, createdAt), holderLive(call.ctx.tokens, call.scope.principal.tokenId)),
        cancel: () => sub.close(),
      },
    };
  },
);

/** How often a stream checks that its token still may read it and that its function was not deleted. */
const STREAM_CHECK_MS = 1000;

/** The function a stream tails: its key's creation time, and whether the function under the key is still that one. */
interface Incarnation {
  createdAt: number;
  current(): boolean;
}

function incarnation(registry: { recordOf(key: string): { createdAt: number } | null }, key: string, createdAt: number): Incarnation {
  // In production mode this process's registry may learn of a function created elsewhere a moment
  // after the store does: until it has held this one, an absent record is not a deletion.
  let seen = false;
  return {
    createdAt,
    current: () => {
      const held = registry.recordOf(key);
      if (held === null) return !seen;
      seen = true;
      return held.createdAt === createdAt;
    },
  };
}

/**
 * Whether the token that opened a stream still may read it (red team 9): a stream outlives its
 * request, so it is checked again before every write. Before, a revoked or expired token (or one
 * of a deleted workspace) kept receiving the function's live lines as long as it held the stream.
 */
function holderLive(tokens: TokenIndex, tokenId: string): () => boolean {
  return () => {
    const entry = tokens.byId(tokenId);
    return entry !== undefined && !tokens.expired(entry);
  };
}

/** The Last-Event-ID header (what EventSource sends on a reconnect) over the query's `lastEventId`. */
function resumePoint(headers: Pairs, fromQuery: string | undefined): FeedId | null {
  let header: string | undefined;
  for (const [key, value] of headers) if (key === 'last-event-id') header = value;
  if (header !== undefined && header.trim() !== '') {
    const id = parseFeedId(header.trim());
    if (id === null) {
      throw new PlatformError('INVALID_FIELD', 'headers.last-event-id: must be an event id of this stream (<ms>-<seq>)', { field: 'headers.last-event-id' });
    }
    return id;
  }
  return fromQuery === undefined ? null : parseFeedId(fromQuery);
}

/**
 * Writes the subscription's events to the connection until either ends; events name the function
 * by its short name `fn`, as every answer of the API does (the feed carries its key). Never more than one
 * write waits in the server: after a write the connection could not take, the next read waits
 * for the drain (the feed's ring bounds what the reader may then have missed: a `gap`).
 */
async function pump(sub: FeedSubscription, sink: StreamSink, fn: string, filter: LineFilter, resumedFrom: string | null, log: (line: string) => void, tailed: Incarnation, allowed: () => boolean): Promise<void> {
  let backedUp = !sink.write(readyEvent(fn, sub.start, resumedFrom));
  let lastWrite = Date.now();
  const keepalive = setInterval(() => {
    if (backedUp || Date.now() - lastWrite < KEEPALIVE_MS) return;
    lastWrite = Date.now();
    backedUp = !sink.write(KEEPALIVE);
  }, KEEPALIVE_MS);
  keepalive.unref();
  // A quiet stream ends too (not only at its next line) when its token was revoked or expired, or
  // when its function was deleted: the client's reconnect then hears why (404 FUNCTION_NOT_FOUND).
  // Before, `logs -f` of a function deleted meanwhile (from another terminal) waited in silence
  // for ever (journey round 11). Two map lookups a second per stream.
  tailed.current(); // held now (as it is unless production's registry lags): a deletion from here on counts
  const watch = setInterval(() => {
    if (!allowed() || !tailed.current()) sink.end();
  }, STREAM_CHECK_MS);
  watch.unref();
  try {
    for (;;) {
      if (backedUp) {
        await new Promise<void>((resolve) => {
          sink.onDrain(resolve);
          sink.closed.addEventListener('abort', () => resolve(), { once: true });
        });
        backedUp = false;
      }
      const read = await sub.next(sink.closed);
      if (read === null) break;
      // The function tailed was deleted (and maybe created again): its stream ends, nothing of another incarnation is shown.
      if (!tailed.current()) break;
      // The token was revoked or expired (or its workspace deleted) since the stream opened: end it, show nothing more.
      if (!allowed()) break;
      let chunk = read.gap !== null ? gapEvent(read.gap, read.position) : '';
      for (const entry of read.entries) {
        // Lines of a deleted function under the same key (still in the feed, or of its calls still draining): never shown (red team 6).
        if (beforeIncarnation(entry, tailed.createdAt)) continue;
        const event = filterEvent(entry.event, filter);
        if (event !== null) chunk += entryEvent(entry, event.function === fn ? event : { ...event, function: fn });
      }
      if (chunk === '') continue;
      lastWrite = Date.now();
      backedUp = !sink.write(chunk);
    }
  } catch (err) {
    // The backing store failed mid-stream: end it; the client resumes after its last event.
    if (!sink.closed.aborted) log(`controlplane: live logs of "${fn}" ended: ${err instanceof Error ? err.message : String(err)}`);
  } finally {
    clearInterval(keepalive);
    clearInterval(watch);
    sub.close();
    sink.end();
  }
}
