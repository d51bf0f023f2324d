/** /runs, /runs/{runId} and the test invoke (docs/api.md, "Runs"). */
import { formatLongDurationMs, isPlatformError, MAX_JSON_DEPTH, MAX_SHOWN_RESULT_BYTES, jsonNumbersSurviveParse, nameOfKey, PlatformError, recordStatus, resultDrop, resultOmission, RUN_STATUSES, tooDeep, withoutTriggerHeaders, workspaceOfKey, type AsyncRunState, type Pairs, type RunRecord, type RunStatus } from '../../protocol/index.js';
import type { FunctionRecord } from '../store/types.js';
import type { AsyncRuns, AsyncRunView } from '../async/index.js';
import { getFunction } from '../service/functions.js';
import { ofIncarnation } from '../runs/incarnation.js';
import type { z } from 'zod';
import { asyncRunAnswer, replayAnswer, runAnswer, runListAnswer, testInvokeAnswer, type AsyncRunView as AsyncRunAnswer } from './answers.js';
import { asyncAccepted } from './answers-console.js';
import { json } from './http.js';
import { operation, type Call } from './router.js';
import { RUN_ID, runsQuery, testInvokeBody } from './schemas.js';
import { runView } from './present.js';
import { functionParam, textParam } from './validate.js';

const tag = 'runs';
/** Triggers whose runs never have async state (a sync webhook run may, and waits for Redis like the others). */
const SYNC_TRIGGERS: ReadonlySet<string> = new Set(['http', 'test']);
/** Triggers whose runs are always queued (a webhook's may be a sync call: `sync: true`). */
const QUEUED_TRIGGERS: ReadonlySet<string> = new Set(['async', 'cron']);

/**
 * Whether a record is an attempt of a queued run: by its trigger, or (a webhook's, which may be a
 * sync call) by its `queued` mark. A queued webhook run whose async state was lost answered its
 * bare record, with no `state` to poll (chaos round 4; records before 2026-12-07 have no mark).
 */
function queuedRecord(run: { trigger: string; queued?: true; errorCode?: string | null }): boolean {
  return !missedTick(run) && (QUEUED_TRIGGERS.has(run.trigger) || run.queued === true);
}

/**
 * The record of a cron tick that never ran (CRON_TICK_MISSED, ADR 0264): no job was ever queued for
 * it, so it is shown as the record it is, not as a queued run whose async state was lost.
 */
function missedTick(run: { errorCode?: string | null }): boolean {
  return run.errorCode === 'CRON_TICK_MISSED';
}

export const listRuns = operation(
  {
    id: 'listRuns', tag, role: 'viewer', summary: "The workspace's run records, newest first, filtered and paged (`nextCursor`); with an async state for `status`, its async runs in that state",
    query: runsQuery, queryNameFields: ['query.function'],
    answers: { 200: { description: 'A page of runs (without logs); for `status` queued, running, retried or cancelled, async runs (`state`, `acceptedAt`)', schema: runListAnswer } },
    errors: ['INVALID_NAME', 'RUN_CURSOR_INVALID', 'ASYNC_NOT_ENABLED', 'ASYNC_RUNS_UNAVAILABLE'],
  },
  async (call, input) => {
    const query = input.query();
    const fn = query.function !== undefined ? call.scope.key(query.function) : undefined;
    const status = query.status;
    if (status !== undefined && !isRunStatus(status)) return listAsyncRuns(call, { ...query, status }, fn);
    // Read-your-writes: a run recorded just before this call is written before the query runs.
    // Bounded: with the RunStore down the list answers from what is stored instead of waiting.
    await call.ctx.runs.runs.flush(1000);
    const page = await call.ctx.store.runs.list({ ...query, status, workspace: call.scope.workspace, ...(fn !== undefined ? { function: fn } : {}) });
    return json(200, { items: page.items.map(runView), nextCursor: page.nextCursor });
  },
);

/** Listed: a run of the function under its key now (one with no function now is not listed). */
function listable(call: Call, entry: { function: string; bornAt: number | null; acceptedAt: number }): boolean {
  return call.ctx.registry.recordOf(entry.function) !== undefined && current(call, entry.function, entry.bornAt, entry.acceptedAt);
}

function isRunStatus(status: string): status is RunStatus {
  return (RUN_STATUSES as readonly string[]).includes(status);
}

/**
 * A run that is not finished has no run record: its state is the async run index's and timeline's
 * (docs/adr/0068-listing-async-runs-by-state.md). Only the caller's workspace is read, and only
 * the runs of functions that exist now, accepted since they were created: a deleted function's runs
 * leave the listing on both stores alike (Redis also drops them from its listing sets then), while
 * `GET /runs/{runId}` still shows each until it expires.
 */
async function listAsyncRuns(call: Call, query: z.output<typeof runsQuery> & { status: AsyncRunState }, fn: string | undefined) {
  const page = await asyncRuns(call).list({
    workspace: call.scope.workspace, states: [query.status], limit: query.limit ?? 50,
    ...(fn !== undefined ? { function: fn } : {}), ...(query.trigger !== undefined ? { trigger: query.trigger } : {}),
    ...(query.since !== undefined ? { since: query.since } : {}), ...(query.until !== undefined ? { until: query.until } : {}),
    ...(query.cursor !== undefined ? { cursor: query.cursor } : {}),
  }, (entry) => call.scope.owns(entry.function) && listable(call, entry)).catch((err: unknown) => { throw asyncUnavailable(call, err); });
  return json(200, {
    items: page.items.map((r) => ({
      runId: r.runId, function: nameOfKey(r.function), workspace: workspaceOfKey(r.function), trigger: r.trigger, state: r.state,
      acceptedAt: r.acceptedAt, updatedAt: r.updatedAt, attempts: r.attempts, replayOf: r.replayOf,
    })),
    nextCursor: page.nextCursor,
  });
}

export const getRun = operation(
  {
    id: 'getRun', tag, role: 'viewer', summary: 'One run with its logs; for an async run its state, timeline, attempts and result',
    answers: { 200: { description: 'The run', schema: runAnswer } },
    errors: ['INVALID_FIELD', 'RUN_NOT_FOUND', 'ASYNC_RUNS_UNAVAILABLE'],
  },
  async (call) => {
    const runId = textParam(call.params[0]!, 'runId', RUN_ID);
    let view: AsyncRunView | null = null;
    let asyncDown: unknown = null;
    try {
      view = call.ctx.async ? await call.ctx.async.view(runId) : null;
    } catch (err) {
      // Async run state (Redis) unreadable: a sync run is still found in the run store below.
      if (isPlatformError(err)) throw err;
      asyncDown = err;
    }
    // Another workspace's run answers exactly as one that does not exist.
    if (view !== null && call.scope.owns(view.function ?? '') && current(call, view.function ?? '', view.bornAt, view.acceptedAt)) {
      // Each attempt with its own record (logs, timings): written before the answer, bounded as for
      // lists; a record still on its way to the store (a slow write) is taken from the sink itself.
      await call.ctx.runs.runs.flush(1000);
      return json(200, { run: presentAsync(view, await attemptRecords(call, runId)) });
    }
    const found = view !== null ? null : await recordOfRun(call, runId);
    const run = found !== null && call.scope.owns(found.run.function) && current(call, found.run.function, found.incarnation, found.run.startedAt) ? found.run : null;
    // A queued run whose async state is gone (Redis lost its data: restarted empty, flushed) while
    // its attempts' records were kept: answered as an async run, its state its last attempt's
    // status, so a client polling `state` sees it end (before, the record alone: no `state`, and a
    // poller waited for ever; chaos round 3). What Redis held (timeline, result) is not invented.
    if (run !== null && asyncDown === null && queuedRecord(run)) return json(200, { run: presentLost(run, await attemptRecords(call, runId)) });
    // With the async state unreadable, an attempt of a queued run must not pass for the whole run.
    if (run !== null && (asyncDown === null || SYNC_TRIGGERS.has(run.trigger) || missedTick(run))) return json(200, { run: runView(run) });
    if (asyncDown !== null) throw asyncUnavailable(call, asyncDown);
    throw runNotFound(call, runId);
  },
);

function runNotFound(call: Call, runId: string): PlatformError {
  // Every way a real run goes, not the retention alone: one pruned by the size cap seconds after it
  // ran was "kept for 7d" (new-user round 5).
  return new PlatformError('RUN_NOT_FOUND', `no run ${runId} (runs are kept for ${formatLongDurationMs(call.ctx.settings.runRetentionMs)}, the oldest pruned sooner when the run store reaches its size cap, FP_RUN_STORE_MAX_BYTES; of successful warm calls some are only counted: docs/stores.md, "Retention")`, { field: 'runId' });
}

/**
 * An async run of the call's workspace (its function's key), else RUN_NOT_FOUND (another
 * workspace's run does not exist for it). A sync run the caller can see (`GET /runs/{runId}` shows
 * it) is `refused` (409: RUN_NOT_CANCELLABLE or RUN_NOT_REPLAYABLE), not "no run"; so is a queued
 * run whose async state was lost, which `GET /runs/{runId}` shows from its attempts (ADR 0193): it
 * is final and its request went with the state (it answered RUN_NOT_FOUND under the run it had
 * just shown: console round 7, ADR 0226).
 */
async function ownRun(call: Call, runId: string, refused: (run: { function: string; trigger: string; queued?: true; errorCode?: string | null }) => PlatformError): Promise<string> {
  const view = await asyncRuns(call).view(runId).catch((err: unknown) => { throw asyncUnavailable(call, err); });
  if (view === null) {
    const found = await recordOfRun(call, runId).catch(() => null);
    const shown = found !== null && (SYNC_TRIGGERS.has(found.run.trigger) || queuedRecord(found.run) || missedTick(found.run));
    if (shown && call.scope.owns(found.run.function) && current(call, found.run.function, found.incarnation, found.run.startedAt)) throw refused(found.run);
  }
  if (view === null || view.function === null || !call.scope.owns(view.function) || !current(call, view.function, view.bornAt, view.acceptedAt)) throw runNotFound(call, runId);
  return view.function;
}

/**
 * What a sync run's cancel or replay gets: it ran once, as a call, and is final; and a queued run
 * known only by its attempts' records (its async state lost, ADR 0193): final, its request gone.
 */
function syncRunRefusal(code: 'RUN_NOT_CANCELLABLE' | 'RUN_NOT_REPLAYABLE', runId: string) {
  return (run: { function: string; trigger: string; queued?: true; errorCode?: string | null }): PlatformError => missedTick(run) ? new PlatformError(code,
    `run ${runId} is a cron tick that did not run (CRON_TICK_MISSED): no run was ever queued for it, so ${code === 'RUN_NOT_CANCELLABLE' ? 'nothing waits to be cancelled' : 'there is no request to queue again; call the function for it (`fastapi-platform invoke --async ' + nameOfKey(run.function) + '`)'}`,
    { runId, state: 'missed', trigger: run.trigger }) : queuedRecord(run) ? new PlatformError(code,
    `run ${runId} (trigger ${run.trigger}) is known only by its attempts' records: its async state (timeline, result and request) was lost, so it is final and ${code === 'RUN_NOT_CANCELLABLE' ? 'nothing waits to be cancelled' : 'there is no request to queue again; call the function again'} (docs/adr/0193-a-run-whose-async-state-was-lost.md)`,
    { runId, state: 'lost', trigger: run.trigger }) : new PlatformError(code,
    code === 'RUN_NOT_CANCELLABLE'
      ? `run ${runId} is a sync call (trigger ${run.trigger}), never queued: only an async run waiting in the queue can be cancelled`
      : `run ${runId} is a sync call (trigger ${run.trigger}), never queued: only a failed async run can be replayed; call the function again (\`fastapi-platform invoke ${nameOfKey(run.function)}\`)`,
    { runId, state: 'sync', trigger: run.trigger });
}

/** Whether a run of `fnKey` belongs to the function now under that key (the rule: runs/incarnation.ts). */
function current(call: Call, fnKey: string, incarnation: number | null | undefined, at: number | null): boolean {
  return ofIncarnation(call.ctx.registry.recordOf(fnKey)?.createdAt, incarnation, at);
}

/**
 * A run's newest record, from the sink (still on its way to the store) or the store, with the
 * incarnation it was handed or stamped with; null when there is none.
 */
async function recordOfRun(call: Call, runId: string): Promise<{ run: RunRecord; incarnation: number | undefined } | null> {
  const pending = call.ctx.runs.pendingRun(runId);
  if (pending !== undefined) return { run: pending, incarnation: call.ctx.runs.incarnationOf(pending) };
  const stored = await call.ctx.store.runs.get(runId);
  if (stored === null) return null;
  const { fnCreatedAt, ...run } = stored;
  return { run, incarnation: fnCreatedAt };
}

const asyncErrors = ['INVALID_FIELD', 'RUN_NOT_FOUND', 'ASYNC_NOT_ENABLED', 'ASYNC_QUEUE_UNAVAILABLE', 'ASYNC_RUNS_UNAVAILABLE'] as const;

/**
 * A `sync` function is never queued, so never retried (docs/adr/0047-sync-never-queued.md): the
 * API's async test invoke and a replay refuse it as `POST /async/<key>/` does. Before (red team 4)
 * an `invoker` token queued a sync-only, non-idempotent function and it ran three times.
 */
function refuseSyncOnly(record: Pick<FunctionRecord, 'invocation'>, key: string): void {
  if (record.invocation !== 'sync') return;
  const name = nameOfKey(key);
  throw new PlatformError('INVOCATION_MODE_NOT_ALLOWED',
    `function "${name}" takes sync calls only (invocation: sync): it is never queued; call /fn/${key}/ (or the test invoke without async), or set invocation: both`,
    { function: name, invocation: 'sync', use: `/fn/${key}/` });
}

/** `POST /runs/{runId}/cancel`: a run still waiting in the queue becomes `cancelled`. */
export const cancelRun = operation(
  {
    id: 'cancelRun', metered: false, tag, role: 'invoker', summary: 'Cancel an async run still waiting in the queue',
    answers: { 200: { description: 'The run, now cancelled', schema: asyncRunAnswer } },
    errors: [...asyncErrors, 'RUN_NOT_CANCELLABLE'],
  },
  async (call) => {
    const runId = textParam(call.params[0]!, 'runId', RUN_ID);
    await ownRun(call, runId, syncRunRefusal('RUN_NOT_CANCELLABLE', runId));
    const view = await asyncRuns(call).cancel(runId).catch((err: unknown) => { throw asyncUnavailable(call, err); });
    if (view.function !== null) call.ctx.asyncMetrics?.cancelled(view.function);
    return json(200, { run: presentAsync(view, []) });
  },
);

/** `POST /runs/{runId}/replay`: a failed run's request, queued again as a new run (`replayOf`). */
export const replayRun = operation(
  {
    id: 'replayRun', metered: false, tag, role: 'invoker', summary: "Queue a failed async run's request again as a new run",
    answers: { 202: { description: 'The new run, queued', schema: replayAnswer } },
    errors: [...asyncErrors, 'RUN_NOT_REPLAYABLE', 'RATE_LIMITED', 'QUOTA_EXCEEDED', 'FUNCTION_PAUSED', 'FUNCTION_NOT_DEPLOYED', 'FUNCTION_NOT_FOUND', 'INVOCATION_MODE_NOT_ALLOWED'],
  },
  async (call) => {
    const runId = textParam(call.params[0]!, 'runId', RUN_ID);
    const fn = await ownRun(call, runId, syncRunRefusal('RUN_NOT_REPLAYABLE', runId));
    // A replay is a new run: a function that became sync-only since is not queued again, and one
    // deleted since is not queued at all (it was: 202, then failed `non_retryable
    // code:FUNCTION_NOT_FOUND` at its attempt; reliability round 5).
    const record = await getFunction(call.ctx, fn).catch((err: unknown) => {
      if (isPlatformError(err) && err.code === 'FUNCTION_NOT_FOUND') throw new PlatformError('FUNCTION_NOT_FOUND', `the function of run ${runId} was deleted since; nothing was queued`, { function: nameOfKey(fn) });
      return null;
    });
    if (record !== null) refuseSyncOnly(record, fn);
    // A replay is a new call: admitted as POST /async/<name> is (ADR 0034); a failed run may be
    // replayed again and again, so without this an invoker token queued runs past any quota.
    const refused = await call.ctx.invoker.admit(fn);
    if (refused !== null) throw refused;
    const replay = await asyncRuns(call).replay(runId).catch((err: unknown) => { throw asyncUnavailable(call, err); });
    return json(202, { runId: replay.runId, replayOf: replay.replayOf, statusUrl: `/api/v1/runs/${replay.runId}` });
  },
);

/**
 * A failure reading or changing async run state that is not a registry error (the driver's own, e.g.
 * Redis down): ASYNC_RUNS_UNAVAILABLE with a plain message; the original goes to the operator log.
 */
function asyncUnavailable(call: Call, err: unknown): unknown {
  if (isPlatformError(err)) return err;
  call.ctx.log(`controlplane: ${call.req.method} ${call.req.path}: async run state unavailable: ${err instanceof Error ? err.message : String(err)}`);
  return new PlatformError('ASYNC_RUNS_UNAVAILABLE', 'the state of async runs (Redis) could not be read; try again shortly');
}

function asyncRuns(call: Call): AsyncRuns {
  if (call.ctx.async === null) throw new PlatformError('ASYNC_NOT_ENABLED', 'this process has no async queue');
  return call.ctx.async;
}

/**
 * The run records of an async run's attempts. MongoDB down: the state, timeline and result (Redis)
 * still answer, with the attempts' records still waiting in the sink (those of an outage wait
 * there), not a 503 for the whole run.
 */
async function attemptRecords(call: Call, runId: string): Promise<RunRecord[]> {
  const stored = await call.ctx.store.runs.attempts(runId).catch((err: unknown) => {
    if ((err as { code?: unknown } | null)?.code === 'STORE_UNAVAILABLE') return [];
    throw err;
  });
  return [...stored, ...call.ctx.runs.pendingAttempts(runId)];
}

/**
 * A queued run known only by its attempts' records (its async state lost): each attempt from its
 * record, the state the last one's status (no attempt follows: its job was lost with the state),
 * no timeline, acceptance time or result.
 */
function presentLost(found: RunRecord, stored: readonly RunRecord[]): AsyncRunAnswer {
  const records = (stored.some((r) => r.attempt === found.attempt) ? [...stored] : [...stored, found]).sort((a, b) => a.attempt - b.attempt || a.startedAt - b.startedAt);
  const last = records.at(-1)!;
  const view: AsyncRunView = {
    runId: found.runId, function: found.function, acceptedAt: null, replayOf: null, trigger: found.trigger as AsyncRunView['trigger'],
    bornAt: null, replays: [], result: null, transitions: [], state: recordStatus(last),
    attempts: records.map((r) => ({ attempt: r.attempt, startedAt: r.startedAt, durationMs: r.durationMs, cold: r.cold, status: recordStatus(r), errorCode: r.errorCode, errorClass: r.errorClass, error: null })),
  };
  return presentAsync(view, records);
}

/**
 * An async run: its state, timeline, attempts (each with its run record's logs and timings, when
 * recorded) and the output of its latest attempt.
 */
function presentAsync(view: AsyncRunView, records: readonly RunRecord[]): AsyncRunAnswer {
  const byAttempt = new Map(records.map((r) => [r.attempt, r]));
  const attempts = view.attempts.map((a) => {
    const record = byAttempt.get(a.attempt);
    return record === undefined ? { ...a, logs: [] } : {
      ...a, version: record.version, initMs: record.initMs, handlerMs: record.handlerMs, queuedMs: record.queuedMs,
      httpStatus: record.httpStatus, logs: record.logs, ...(record.error !== null ? { error: record.error } : {}),
      ...(record.method !== undefined && record.path !== undefined ? { method: record.method, path: record.path } : {}),
      ...(record.query !== undefined ? { query: record.query } : {}),
    };
  });
  const result = view.result === null ? null : (() => {
    const headers: Record<string, string> = {};
    for (const [key, value] of view.result.headers) headers[key] = key in headers ? `${headers[key]}, ${value}` : value;
    // A body not kept: its size and the cap it was over; a result dropped later for its workspace's
    // budget: the bytes that went and why. As fields (the headers say it too).
    const omitted = resultOmission(headers);
    const dropped = resultDrop(headers);
    return { status: view.result.status, attempt: view.result.attempt, headers, ...(omitted !== null ? { omitted } : {}), ...(dropped !== null ? { dropped } : {}), ...decodeBody(view.result.body, headers['content-type'] ?? '') };
  })();
  return {
    runId: view.runId,
    function: view.function === null ? null : nameOfKey(view.function),
    workspace: view.function === null ? null : workspaceOfKey(view.function),
    trigger: view.trigger,
    state: view.state,
    acceptedAt: view.acceptedAt,
    replayOf: view.replayOf,
    replays: view.replays,
    transitions: view.transitions,
    attempts,
    result,
  };
}

/**
 * A test invoke's body as the request the function gets: headers (lower-case), the payload bytes,
 * the query string. The platform's trust headers (`x-fp-trigger-id`, `x-fp-cron-tick`, any
 * spelling) are dropped as `/fn/` drops them: an invoker's test call must not pass for a signed
 * webhook delivery or a cron tick (red team of 2026-12-04). `host` is the platform's public host
 * unless the test sets one.
 */
function requestOf(body: z.output<typeof testInvokeBody>, maxPayloadBytes: number, route: string, host: string): { headers: Pairs; payload: Uint8Array; rawQuery: string } {
  const headers: Pairs = withoutTriggerHeaders(Object.entries(body.headers ?? {}).map(([k, v]): [string, string] => [k.toLowerCase(), v]));
  // The platform's public host unless the test names one, as a browser or curl would send it: without
  // one an app saw `function` (TrustedHostMiddleware answered 400, url_for made http://function/…).
  if (!headers.some(([k]) => k === 'host')) headers.push(['host', host]);
  let payload: Uint8Array = new Uint8Array(0);
  if (body.body !== undefined) {
    payload = Buffer.from(JSON.stringify(body.body));
    if (!headers.some(([k]) => k === 'content-type')) headers.push(['content-type', 'application/json']);
  } else if (body.bodyBase64 !== undefined) {
    payload = Buffer.from(body.bodyBase64, 'base64');
  }
  // The limit of the route it stands for: the API's own body limit only bounds the JSON around it
  // (a test invoke took 300 KB that `/async/` refuses past 256 KiB).
  if (payload.byteLength > maxPayloadBytes) {
    throw new PlatformError('PAYLOAD_TOO_LARGE', `the request's body is ${payload.byteLength} bytes; ${route} takes at most ${maxPayloadBytes}`, { field: body.body !== undefined ? 'body' : 'bodyBase64', limit: maxPayloadBytes });
  }
  const query = new URLSearchParams();
  for (const [key, value] of Object.entries(body.query ?? {})) {
    for (const v of Array.isArray(value) ? value : [value]) query.append(key, v);
  }
  return { headers, payload, rawQuery: query.toString() };
}

export const testInvoke = operation(
  {
    id: 'testInvoke', metered: false, tag, role: 'invoker', summary: "Run a request through the function's deployed version (trigger `test`)",
    body: testInvokeBody,
    answers: { 200: { description: "What the gateway would have answered (also for the function's failures, with `error`)", schema: testInvokeAnswer } },
    errors: ['FUNCTION_PAUSED', 'FUNCTION_NOT_DEPLOYED', 'RATE_LIMITED', 'QUOTA_EXCEEDED'],
  },
  async (call, input) => {
    const { key: name } = functionParam(call.params[0]!, call.scope);
    const body = await input.body();
    await getFunction(call.ctx, name);
    // The function's rate limit and its workspace's quota, as on /fn (counted): a test invoke is a call.
    const refused = await call.ctx.invoker.admit(name);
    if (refused !== null) throw refused;
    const { headers, payload, rawQuery } = requestOf(body, call.ctx.settings.syncPayloadBytes, '/fn/', new URL(call.ctx.settings.publicUrl()).host);
    const result = await call.ctx.invoker.invoke(
      name,
      // An answer is shown, not stored: past 6 MiB only its size (red team 10: each was held whole, in base64 and JSON).
      { method: (body.method ?? 'POST').toUpperCase(), path: body.path ?? '/', rawQuery, headers, body: payload, signal: call.req.signal, keepBodyBytes: MAX_SHOWN_RESULT_BYTES },
      'test',
    );
    const responseHeaders: Record<string, string> = {};
    for (const [key, value] of result.headers) {
      const k = key.toLowerCase();
      // Set-Cookie values joined by a line break: a cookie's Expires holds a comma (as the CLI does).
      responseHeaders[k] = k in responseHeaders ? `${responseHeaders[k]}${k === 'set-cookie' ? '\n' : ', '}${value}` : value;
    }
    return json(200, {
      runId: result.runId,
      status: result.status,
      headers: responseHeaders,
      ...decodeBody(result.body, responseHeaders['content-type'] ?? ''),
      durationMs: result.durationMs,
      cold: result.cold,
      ...(result.error !== null ? { error: result.error } : {}),
    });
  },
);

/**
 * JSON parsed when the response says JSON, else text when it is UTF-8, else base64. JSON holding a
 * number JavaScript cannot keep (an integer past 2^53: `9007199254740993`) stays text, so the
 * answer shows the digits the function sent (protocol/json-numbers.ts). So does JSON nested deeper than
 * the API's own requests may be (MAX_JSON_DEPTH).
 */
export function decodeBody(bytes: Uint8Array, contentType: string): { body: unknown } | { bodyBase64: string } {
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  } catch {
    return { bodyBase64: Buffer.from(bytes).toString('base64') };
  }
  // Nested past MAX_JSON_DEPTH, it stays text: parsed, the answer's JSON.stringify overflowed its
  // stack, and the run or the test invoke answered 500 whatever the reader did (red team round 18).
  if (/\bjson\b/i.test(contentType) && text.trim() !== '' && jsonNumbersSurviveParse(text) && tooDeep(bytes, MAX_JSON_DEPTH) === null) {
    try {
      return { body: JSON.parse(text) as unknown };
    } catch {
      // the function said JSON but sent something else: show the text
    }
  }
  return { body: text };
}

/** `POST /functions/{name}/invoke/async`: the test invoke's request queued as an async run (as `POST /async/<name>` would, without the invoke token). */
export const testInvokeAsync = operation(
  {
    id: 'testInvokeAsync', metered: false, tag, role: 'invoker', summary: 'Queue a request as an async run of the deployed version (as POST /async/<name> does)',
    body: testInvokeBody,
    answers: { 202: { description: 'Queued: the run id and where to follow it', schema: asyncAccepted } },
    errors: ['FUNCTION_PAUSED', 'FUNCTION_NOT_DEPLOYED', 'ASYNC_NOT_ENABLED', 'ASYNC_QUEUE_UNAVAILABLE', 'ASYNC_QUEUE_NOT_DURABLE', 'RATE_LIMITED', 'QUOTA_EXCEEDED', 'INVOCATION_MODE_NOT_ALLOWED'],
  },
  async (call, input) => {
    const { name, key } = functionParam(call.params[0]!, call.scope);
    const body = await input.body();
    const record = await getFunction(call.ctx, key);
    if (record.activeVersion === null) throw new PlatformError('FUNCTION_NOT_DEPLOYED', `function "${name}" has no deployed version`, { function: name });
    if (record.status === 'paused') throw new PlatformError('FUNCTION_PAUSED', `function "${name}" is paused`, { function: name });
    refuseSyncOnly(record, key);
    const intake = call.ctx.async;
    if (intake === null) throw new PlatformError('ASYNC_NOT_ENABLED', 'this process has no async queue');
    // Counted as POST /async/<name> is, when accepted.
    const refused = await call.ctx.invoker.admit(key);
    if (refused !== null) throw refused;
    const { headers, payload, rawQuery } = requestOf(body, call.ctx.settings.asyncPayloadBytes, '/async/', new URL(call.ctx.settings.publicUrl()).host);
    let runId: string;
    try {
      ({ runId } = await intake.submit(key, { method: (body.method ?? 'POST').toUpperCase(), path: body.path ?? '/', rawQuery, headers, body: payload }, null));
    } catch (err) {
      // As the gateway's async route: registry errors as they are, anything else never shown (it may be a driver's words).
      throw isPlatformError(err) ? err : new PlatformError('ASYNC_QUEUE_UNAVAILABLE', undefined, { function: name });
    }
    return json(202, { runId, statusUrl: `/api/v1/runs/${runId}` });
  },
);
