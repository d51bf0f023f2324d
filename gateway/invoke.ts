/**
 * One synchronous invocation: admission (is the function known, is the token right, is it
 * paused, is a version deployed), request → WireEvent → pool → response, plus the run record and
 * the metrics. Two entries share that path: `invokeHttp` for `/fn/<name>/…` (the HTTP contract is
 * docs/api-invoke.md) and `invokeDirect` for callers inside the process (the control plane's test
 * invoke), which are trusted and skip the invoke token.
 */
import { recordedQuery } from './recorded-query.js';
import { newRunId } from './run-id.js';
import { performance } from 'node:perf_hooks';
import { relative, sep } from 'node:path';
import {
  ATTEMPT_HEADER, callFailed, declaredLength, ERRORS, isPlatformError, isPlatformToken, PlatformError, RUN_ID_HEADER, RUNTIME_PLATFORM_CODES, withoutTriggerHeaders,
  type Abortable, type AsyncIntake, type CallLimit, type CallOrigin, type DirectError, type DirectRequest, type DirectResult, type ErrorCode, type LogTap, type Pairs, type RunError, type RunRecord, type RunTrigger, type WireEvent, type WireResponse,
} from '../protocol/index.js';

export type { AsyncCall, AsyncIntake, DirectError, DirectRequest, DirectResult } from '../protocol/index.js';
import { ANSWERED_5XX, type GatewayMetrics } from './metrics.js';
import type { FunctionVersion, InvocationError, InvocationPool, InvocationResult } from './pool.js';
import { clientView, withoutForwarding, type ClientView, type TrustedProxies } from './peer.js';
import type { FunctionRegistry, InvokeAuth, Resolution } from './registry.js';
import { checkFunctionResponse, confineToPrefix, errorResponse, invocationHeaders } from './responses.js';
import type { RunBatcher } from './runs.js';
import { streamBody, wholeResult, type WholeResult } from './streamed.js';
import { FunctionSocket } from './websocket.js';
import { callHolder } from './holder.js';
import type { IncomingRequest, OutgoingResponse } from './http-server.js';

export interface InvokeDeps {
  pool: InvocationPool;
  registry: FunctionRegistry;
  metrics: GatewayMetrics;
  runs: RunBatcher;
  /** Told when each run ends, while someone tails its function (the pool publishes the lines). */
  logTap: LogTap | null;
  /** Whose X-Forwarded-* / Forwarded headers are believed (docs/gateway.md, "Proxy headers"). */
  trustedProxies: TrustedProxies;
  /**
   * Whether the data bindings' proxy told the function DATA_BACKEND_UNAVAILABLE since `since`
   * (Date.now()): a runtime's claim of that platform failure is believed only then. Absent: never.
   */
  dataOutage?: (functionKey: string, since: number) => boolean;
  /** True from the stop on (stopAccepting): the API's test invokes are refused SHUTTING_DOWN. */
  shuttingDown(): boolean;
  /** True once the shutdown grace is over: HTTP calls are refused SHUTTING_DOWN (before it, a call on a connection still open is served; ADR 0118). */
  graceOver(): boolean;
}

const IDEMPOTENCY_KEY = /^[\x21-\x7e]{1,256}$/;

/** `/async/<name>/…`: the same admission as `/fn/`, then the call is queued and answered 202. */
export async function invokeAsyncHttp(deps: InvokeDeps, intake: AsyncIntake | null, req: IncomingRequest, name: string, path: string): Promise<OutgoingResponse> {
  let admitted = admit(deps, req, name, 'async');
  if (admitted instanceof Promise) admitted = await admitted;
  if ('status' in admitted) return admitted;
  const { headers, origin } = edgeOf(deps, req, admitted.headers);
  if (deps.graceOver()) return errorResponse(new PlatformError('SHUTTING_DOWN', 'the gateway is shutting down'));
  if (intake === null) return errorResponse(new PlatformError('ASYNC_NOT_ENABLED', 'this process has no async queue'));
  let key: string | null = null;
  for (const [k, v] of headers) {
    if (k !== 'idempotency-key') continue;
    // Two keys: a proxy reading the first and the platform the last would deduplicate differently
    // (the last one won, silently), as two Content-Length or Host headers would frame or route so.
    if (key !== null) return errorResponse(new PlatformError('BAD_REQUEST', 'the request repeats Idempotency-Key: send one', { field: 'headers.idempotency-key' }));
    key = v;
  }
  if (key !== null && !IDEMPOTENCY_KEY.test(key)) {
    return errorResponse(new PlatformError('BAD_REQUEST', 'Idempotency-Key must be 1-256 visible ASCII characters', { field: 'headers.idempotency-key' }));
  }
  let body: Uint8Array;
  try {
    body = await req.body();
  } catch (err) {
    return errorResponse(isPlatformError(err) ? err : new PlatformError('BAD_REQUEST', (err as Error).message));
  }
  const refused = refusedSinceAdmission(deps, req, name);
  if (refused !== null) return refused;
  let accepted: { runId: string; created: boolean };
  try {
    accepted = await intake.submit(name, { method: req.method, path, rawQuery: req.rawQuery, headers, body, origin, ...versionOf(req) }, key);
  } catch (err) {
    // The intake throws registry errors; anything else is not shown as it is (it may be a driver's message).
    return errorResponse(isPlatformError(err) ? err : new PlatformError('ASYNC_QUEUE_UNAVAILABLE', undefined, { function: name }));
  }
  const statusUrl = `/api/v1/runs/${accepted.runId}`;
  return {
    status: 202,
    headers: [['content-type', 'application/json'], ['x-run-id', accepted.runId], ['location', statusUrl]],
    body: JSON.stringify({ runId: accepted.runId, statusUrl, created: accepted.created }),
  };
}

/** Where a call came from: what the run record and the abort handling need. */
interface Origin {
  readonly trigger: RunTrigger;
  readonly arrivedAt: number;
  readonly signal: Abortable | undefined;
  readonly attempt: number;
  /** The request's method and its path within the function (no query string): the run record says what was called. */
  readonly method: string;
  readonly path: string;
  /** The request's query string as sent (no `?`): the run record keeps it masked (./recorded-query.ts, ADR 0251). */
  readonly rawQuery: string;
  /** An attempt of a queued run (the dispatcher's: it gives the run's id), not a call: its 4xx answer fails it (protocol/run-outcome.ts). */
  readonly queued: boolean;
}

/**
 * One call, from admission to its run record, as ONE object (issue 11): its origin, what `finish`
 * made of its result (the `Finished` it returns is the call itself) and the task that records it
 * after the response (`run`, handed to RunBatcher.afterResponse) were three objects and a closure
 * with its context per request.
 */
class Call implements Origin, Finished {
  response: OutgoingResponse = NO_RESPONSE;
  error: InvocationError | null = null;
  cold = false;
  durationMs = 0;
  result: InvocationResult = NOT_INVOKED_RESULT;
  invoked = false;
  /** A WebSocket handshake: the subprotocols its client offered (the app may choose one); null for a request. */
  wsProtocols: string[] | null = null;
  /** The bearer secret that admitted it (`auth: token`), asked again while its stream or WebSocket lasts (./holder.ts); null: a public call. */
  secret: string | null = null;

  constructor(
    readonly deps: InvokeDeps,
    readonly trigger: RunTrigger,
    readonly arrivedAt: number,
    readonly signal: Abortable | undefined,
    readonly attempt: number,
    readonly method: string,
    readonly path: string,
    readonly rawQuery: string,
    readonly fn: FunctionVersion,
    readonly runId: string,
    readonly startedAt: number,
    readonly queued = false,
  ) {}

  /** The deferred record of a call that ended with its response (RunBatcher.afterResponse). */
  run(): void {
    recordRun(this.deps, this, this.fn, this.runId, this.startedAt, this.result, this.invoked, this.response.status, this.error, null, this.durationMs);
  }
}

/** What happened before the pool was asked, when the call never reached it. */
const NOT_INVOKED: Omit<InvocationResult, 'error'> = {
  cold: false,
  start: 'warm',
  initMs: 0,
  handlerMs: 0,
  queuedMs: 0,
  response: null,
  logs: [],
  instanceId: null,
};

/** Placeholders of a Call not finished yet (never read: finish sets both). */
const NO_RESPONSE: OutgoingResponse = { status: 500, headers: [] };
const NOT_INVOKED_RESULT: InvocationResult = { ...NOT_INVOKED, error: { code: 'INTERNAL_ERROR', class: null, type: 'NotFinished', message: 'not finished' } };

/** The body of every bodyless HTTP call's event (frozen: nothing may write into it). */
const NO_BODY: Uint8Array = Object.freeze(new Uint8Array(0)) as Uint8Array;

const WWW_AUTHENTICATE: [string, string] = ['www-authenticate', 'Bearer'];

type Admitted = { fn: FunctionVersion; headers: Pairs; secret?: string } | OutgoingResponse;

/**
 * The refusal of a call whose body has just come, when its function's token rule no longer admits
 * it (its invoke token rotated, its workspace token revoked or expired, a public function turned to
 * `auth: token`), or its function was paused: the same answer admission gives; null when it still does. Admission checks the
 * head, and a client sends the body when it likes (uWS waits ~10 s per 16 KiB: a 6 MiB body an
 * hour): before (red team round 38), calls whose heads came before a rotation ran after it, each
 * whenever its client finished it. A function gone meanwhile is left to the pool, as callHolder does.
 */
function refusedSinceAdmission(deps: InvokeDeps, req: IncomingRequest, name: string): OutgoingResponse | null {
  const found = deps.registry.resolve(name);
  if (!found.found) return null;
  if (found.auth !== null) {
    const refused = checkToken(found.auth, req.headers, name);
    if (refused !== null) return errorResponse(refused, undefined, refused.status === 401 ? [WWW_AUTHENTICATE] : []);
  }
  // Paused meanwhile: 503 FUNCTION_PAUSED, as admission answers. A public function's calls begun
  // before its owner paused it (to stop an abuse) ran after the pause, each when its client
  // finished the body (red team round 39).
  if (found.paused) return errorResponse(servable(found, name) as PlatformError);
  return null;
}

/**
 * Admission shared by `/fn/` and `/async/`: the function exists, the invoke token is right (and is
 * then removed: the function never sees or logs it), the function is servable, and its rate limit
 * and workspace quota let the call in (before the body is read; docs/adr/0011-tenants.md). Else
 * the refusal. Synchronous unless a shared limiter (Redis) must be asked.
 */
function admit(deps: InvokeDeps, req: IncomingRequest, name: string, route: 'sync' | 'async', caughtUp = false): Admitted | Promise<Admitted> {
  const found = deps.registry.resolve(name);
  if (!caughtUp && unservable(found)) {
    // Perhaps created or deployed by another process a moment ago (ADR 0117): read once, then answer.
    const read = deps.registry.catchUp?.(name) ?? null;
    if (read !== null) return read.then(() => admit(deps, req, name, route, true));
  }
  if (!found.found) return errorResponse(notFound(name));
  let headers = req.headers;
  let secret: string | undefined;
  if (found.auth !== null) {
    const refused = checkToken(found.auth, req.headers, name);
    if (refused !== null) return errorResponse(refused, undefined, refused.status === 401 ? [WWW_AUTHENTICATE] : []);
    headers = req.headers.filter(([key]) => key !== 'authorization');
    secret = bearerToken(req.headers)!;
  } else {
    headers = withoutPlatformTokens(headers);
  }
  headers = withoutTriggerHeaders(headers);
  const mode = found.invocation ?? 'both';
  if (mode !== 'both' && mode !== route) return errorResponse(wrongRoute(name, mode));
  const fn = servable(found, name);
  if (fn instanceof PlatformError) return errorResponse(fn);
  const admitted = secret === undefined ? { fn, headers } : { fn, headers, secret };
  const verdict = limitVerdict(deps, found.limit, fn.name);
  if (verdict === null) return admitted;
  if (verdict instanceof Promise) return verdict.then((refusal) => (refusal === null ? admitted : errorResponse(refusal)));
  return errorResponse(verdict);
}

/**
 * The verdict of the function's rate limit and its workspace's quota on one call of `name`, a
 * refusal counted in fp_invocations_refused_total. Every admission asks through here: `/fn`,
 * `/async`, a webhook delivery (gateway/hooks.ts) and a call the API makes (test invoke, replay),
 * so no refused call is missing from the counter (ops round 2: webhook and API refusals were).
 */
export function limitVerdict(deps: InvokeDeps, limit: CallLimit | null | undefined, name: string): PlatformError | null | Promise<PlatformError | null> {
  const verdict = limit?.admit() ?? null;
  if (verdict === null) return null;
  if (verdict instanceof Promise) return verdict.then((refusal) => counted(deps, name, refusal));
  return counted(deps, name, verdict);
}

function counted(deps: InvokeDeps, name: string, refusal: PlatformError | null): PlatformError | null {
  if (refusal !== null) deps.metrics.refused(name, refusal.code);
  return refusal;
}

/**
 * A call on the route its function's `invocation` does not take (docs/adr/0046-invocation-mode.md):
 * the caller is told the route that would take it. Checked after the token, so only a caller
 * allowed to invoke learns the mode.
 */
function wrongRoute(name: string, mode: 'sync' | 'async'): PlatformError {
  const other = mode === 'sync' ? `/fn/${name}/` : `/async/${name}/`;
  return new PlatformError('INVOCATION_MODE_NOT_ALLOWED', `function "${name}" takes ${mode} calls only (invocation: ${mode}): call ${other}, or set invocation: both in its platform.yaml`, { function: name, invocation: mode, use: other });
}

/**
 * `admit` for a call made through the API (a test invoke, sync or queued): no token to check, the
 * rest the same. Without it a token of the workspace could call past the workspace's
 * `invocationsPerMinute` and the function's rate limit (red team, December 2026).
 */
export function admitDirect(deps: InvokeDeps, name: string, caughtUp = false): PlatformError | null | Promise<PlatformError | null> {
  const found = deps.registry.resolve(name);
  if (!caughtUp && unservable(found)) {
    const read = deps.registry.catchUp?.(name) ?? null;
    if (read !== null) return read.then(() => admitDirect(deps, name, true));
  }
  if (!found.found) return null;
  const fn = servable(found, name);
  if (fn instanceof PlatformError) return fn;
  return limitVerdict(deps, found.limit, fn.name);
}

/**
 * A public function gets the caller's headers as sent, except a platform token in Authorization
 * (a root, workspace or invoke token sent by mistake, e.g. by a script that adds it everywhere):
 * no function ever receives one. A prefix check, so public calls pay no hash.
 */
function withoutPlatformTokens(headers: Pairs): Pairs {
  for (const [key, value] of headers) {
    if (key !== 'authorization') continue;
    const secret = /^Bearer +(\S+) *$/i.exec(value)?.[1];
    if (secret !== undefined && isPlatformToken(secret)) return headers.filter(([k]) => k !== 'authorization');
  }
  return headers;
}

/**
 * `/fn/<name>/…` (rootPath `/fn/<name>`), or a function served at the root of its own host
 * (rootPath ``: docs/adr/0020-addressing.md). Not an async function (issue 11): a call admitted at
 * once with its body already whole (most of them) goes to the pool and its response is the pool's
 * promise `then` finish, without an async function's suspension and resumption around the await;
 * the result is the same promise of the same response, and a throw becomes its rejection as before.
 */
export function invokeHttp(deps: InvokeDeps, req: IncomingRequest, name: string, path: string, rootPath = `/fn/${name}`): Promise<OutgoingResponse> {
  try {
    const admitted = admit(deps, req, name, 'sync');
    if (admitted instanceof Promise) return admitted.then((a) => invokeAdmitted(deps, req, name, path, rootPath, a));
    return invokeAdmitted(deps, req, name, path, rootPath, admitted);
  } catch (err) {
    return Promise.reject(err);
  }
}

/** invokeHttp once admission answered. */
function invokeAdmitted(deps: InvokeDeps, req: IncomingRequest, name: string, path: string, rootPath: string, admitted: Admitted): Promise<OutgoingResponse> {
  if ('status' in admitted) return Promise.resolve(admitted);
  const { fn } = admitted;
  // A WebSocket handshake is a call that lasts as long as its connection (docs/adr/0126-websockets.md).
  // One uWS did not route as a handshake (no valid Sec-WebSocket-Key), or without `Connection:
  // upgrade`, or over HTTP/1.0 (uws-adapter.ts: RFC 6455 §4.1 asks for 1.1), cannot be upgraded.
  const websocket = isWebSocketHandshake(req.headers);
  if (websocket && req.upgradable !== true) {
    return Promise.resolve(errorResponse(new PlatformError('BAD_REQUEST',
      'a WebSocket handshake needs HTTP/1.1, GET, Connection: Upgrade, Sec-WebSocket-Key (16 random bytes in base64) and Sec-WebSocket-Version: 13', { function: name })));
  }
  // The edge view as clientView made it (no second object per request with the same fields).
  const edge = clientView(req.peer, admitted.headers, deps.trustedProxies, req.peerPort);
  const headers = edge.trusted ? trustedHeaders(edge, admitted.headers) : admitted.headers;

  const runId = newRunId();
  const startedAt = Date.now();
  const call = new Call(deps, 'http', req.arrivedAt, req.abortable, 1, req.method, path, req.rawQuery, fn, runId, startedAt);
  if (websocket) call.wsProtocols = offeredProtocols(req.headers);
  if (admitted.secret !== undefined) call.secret = admitted.secret;
  // A WebSocket opened while the gateway stops would be closed at once (1001): refused as the grace's calls are not.
  if (deps.graceOver() || (websocket && deps.shuttingDown())) {
    return Promise.resolve(finish(call, notInvoked('SHUTTING_DOWN', 'the gateway is shutting down'), false).response);
  }
  // A request without a body (most GETs) has its (empty) body settled on arrival: taken as it is,
  // without a promise and a microtask (issue 11). A body still arriving is awaited.
  // A request without a body: a shared empty buffer, only ever copied into the invoke frame (no
  // buffer made per GET; issue 11). Never one a handler could transfer: the event stays in the gateway.
  const body = req.bodyless === true ? NO_BODY : req.bodyNow();
  if (body === null) {
    return req.body().then(
      (arrived) => {
        const refused = refusedSinceAdmission(deps, req, name);
        return refused !== null ? refused : callPool(deps, req, call, edge, headers, rootPath, path, arrived);
      },
      (err: unknown) => {
        const code = isPlatformError(err) ? err.code : 'BAD_REQUEST';
        return finish(call, notInvoked(code, (err as Error).message), false).response;
      },
    );
  }
  return callPool(deps, req, call, edge, headers, rootPath, path, body);
}

/** The call's event to the pool; its response once the pool answered. */
function callPool(deps: InvokeDeps, req: IncomingRequest, call: Call, edge: ClientView, headers: Pairs, rootPath: string, path: string, body: Uint8Array): Promise<OutgoingResponse> {
  // The root path built once (no default `/fn/<name>` made first and replaced).
  const event = wireEvent(edge.prefix === '' ? rootPath : edge.prefix + rootPath, call.runId, { method: req.method, path, rawQuery: req.rawQuery, headers, body });
  event.scheme = edge.scheme;
  event.client = edge.client;
  // The ASGI scope's `http_version`, as uvicorn gives it (ADR 0260); an HTTP/1.1 call's frame carries none.
  if (req.http10 === true) event.httpVersion = '1.0';
  const root = event.rootPath;
  const opts = call.wsProtocols === null ? { signal: req.abortable, attempt: 1 } : { signal: req.abortable, attempt: 1, websocket: true };
  return deps.pool.invoke(call.fn, event, opts).then((result) => {
    const response = finish(call, result, true).response;
    // The path form shares the platform host's origin with every function (responses.ts).
    // At the bare name (`/fn/<key>`, no path after it) the browser's directory is `/fn/`.
    if (rootPath !== '') confineToPrefix(response.headers, req.headers, `${root}/`, req.url === rootPath);
    // Unread, it counts in its function's share of the held answers, as its request body does (rule 10).
    response.heldShare = call.fn.name;
    return response;
  });
}

/**
 * The attempts of queued runs: the dispatcher claimed their job before it stopped, and they run
 * through the drain, within its grace (whose end cuts them as any call: pool.abortCalls). Refused
 * once new calls were, an attempt claimed just before the SIGTERM was abandoned without running
 * and waited a whole lease (30 s) for another process (reliability round 4: 3 runs of 1 500).
 */
const QUEUED_TRIGGERS: ReadonlySet<RunTrigger> = new Set<RunTrigger>(['async', 'cron', 'webhook']);

/**
 * An invocation from inside the process, through the same admission (minus the token), pool,
 * run record and metrics as HTTP. Throws PlatformError FUNCTION_NOT_FOUND, FUNCTION_PAUSED or
 * FUNCTION_NOT_DEPLOYED when nothing ran; every other outcome is a DirectResult.
 */
export async function invokeDirect(deps: InvokeDeps, name: string, request: DirectRequest, trigger: RunTrigger): Promise<DirectResult> {
  let found = deps.registry.resolve(name);
  if (unservable(found)) {
    // An attempt claimed here of a run another process accepted for a function this one has not
    // heard of yet (reliability round 4 retried FUNCTION_NOT_DEPLOYED; FUNCTION_NOT_FOUND was final).
    const read = deps.registry.catchUp?.(name) ?? null;
    if (read !== null) {
      await read;
      found = deps.registry.resolve(name);
    }
  }
  if (!found.found) throw notFound(name);
  const fn = servable(found, name);
  if (fn instanceof PlatformError) throw fn;
  // An async run keeps its id across attempts: the handler sees the same requestId each time.
  const runId = request.runId ?? newRunId();
  const startedAt = Date.now();
  const attempt = request.attempt ?? 1;
  // Only the dispatcher's attempts give a run id (ports.ts DirectRequest.runId): theirs is a queued run.
  const call = new Call(deps, trigger, performance.now(), request.signal, attempt, request.method, request.path, request.rawQuery, fn, runId, startedAt, request.runId !== undefined);
  let done: Finished;
  if (deps.shuttingDown() && !QUEUED_TRIGGERS.has(trigger)) {
    done = finish(call, notInvoked('SHUTTING_DOWN', 'the gateway is shutting down'), false);
  } else {
    const event = wireEvent(`${request.origin?.prefix ?? ''}/fn/${name}`, runId, request, withRunHeaders(request.headers, runId, attempt));
    if (request.origin !== undefined) {
      event.scheme = request.origin.scheme;
      event.client = request.origin.client;
    }
    // An HTTP/1.0 request's version, kept with a queued run from its acceptance (ADR 0260).
    if (request.httpVersion === '1.0') event.httpVersion = '1.0';
    const opts = request.signal ? { signal: request.signal, attempt } : { attempt };
    // The whole body: a direct caller cannot take a stream (gateway/streamed.ts).
    done = finish(call, await wholeResult(await deps.pool.invoke(fn, event, opts), request.keepBodyBytes), true);
  }
  const { response, error, result } = done;
  const body = typeof response.body === 'string' ? Buffer.from(response.body) : (response.body ?? new Uint8Array(0));
  return {
    runId,
    status: response.status,
    headers: response.headers,
    body,
    cold: done.cold,
    durationMs: done.durationMs,
    initMs: result.initMs,
    handlerMs: result.handlerMs,
    queuedMs: result.queuedMs,
    error: error === null ? null : directError(error),
    errorClass: error?.class ?? null,
  };
}

/** Repeated keys kept in order; `+` and percent escapes decoded as browsers encode forms. */
export function queryPairs(rawQuery: string): Pairs {
  if (rawQuery === '') return [];
  const pairs: Pairs = [];
  for (const [key, value] of new URLSearchParams(rawQuery)) pairs.push([key, value]);
  return pairs;
}

/** The subprotocols of a handshake's Sec-WebSocket-Protocol headers, in order (RFC 6455 §4.1: tokens). */
function offeredProtocols(headers: Pairs): string[] {
  const out: string[] = [];
  for (const [key, value] of headers) {
    if (key !== 'sec-websocket-protocol') continue;
    for (const p of value.split(',')) if (/^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/.test(p.trim())) out.push(p.trim());
  }
  return out;
}

/** `Upgrade: websocket` (RFC 6455 §4.1; any case, among other protocols). */
function isWebSocketHandshake(headers: Pairs): boolean {
  for (const [key, value] of headers) {
    if (key === 'upgrade' && value.split(',').some((p) => p.trim().toLowerCase() === 'websocket')) return true;
  }
  return false;
}

function notFound(name: string): PlatformError {
  return new PlatformError('FUNCTION_NOT_FOUND', `no function named "${name}"`, { function: name });
}

/** No such function, or none deployed (not paused): what another process may have changed a moment ago. */
function unservable(found: Resolution): boolean {
  return !found.found || (found.fn === null && !found.paused);
}

/** The version to run, or why there is none. */
export function servable(found: Resolution & { found: true }, name: string): FunctionVersion | PlatformError {
  if (found.paused) return new PlatformError('FUNCTION_PAUSED', `function "${name}" is paused; resume it to serve calls`, { function: name });
  if (found.fn === null) return new PlatformError('FUNCTION_NOT_DEPLOYED', `function "${name}" has no deployed version`, { function: name });
  return found.fn;
}

/** null when the bearer token may invoke the function, else the refusal. */
function checkToken(auth: InvokeAuth, headers: Pairs, name: string): PlatformError | null {
  const secret = bearerToken(headers);
  if (secret === null) return new PlatformError('INVOKE_TOKEN_REQUIRED', `function "${name}" needs Authorization: Bearer <invoke token>`, { function: name });
  switch (auth.check(secret)) {
    case 'ok':
      return null;
    case 'expired':
      return new PlatformError('TOKEN_EXPIRED', 'the token has expired; ask for a new one', { function: name });
    case 'role':
      return new PlatformError('ROLE_FORBIDDEN', `invoking "${name}" needs a token with the role invoker or above`, { function: name, required: 'invoker' });
    case 'elsewhere':
      // A workspace token of another workspace, another function's invoke token: the function does not exist for it.
      return notFound(name);
    default:
      return new PlatformError('INVOKE_TOKEN_INVALID', `the invoke token of "${name}" is wrong or was rotated`, { function: name });
  }
}

/** The secret of the first `Authorization: Bearer <secret>` header, or null. */
export function bearerToken(headers: Pairs): string | null {
  for (const [key, value] of headers) {
    if (key !== 'authorization') continue;
    const match = /^Bearer +(\S+) *$/i.exec(value);
    return match ? match[1]! : null;
  }
  return null;
}

/**
 * The headers a function sees behind a trusted proxy (clientView made the rest of the request's
 * origin as the function sees it: scheme and client from trusted proxies, else the peer over
 * http): without the forwarding headers, and with the Host that proxy reports in place of its own.
 */
function trustedHeaders(view: ClientView, headers: Pairs): Pairs {
  const forwarded = withoutForwarding(headers);
  if (view.host === null) return forwarded;
  return [...forwarded.filter(([key]) => key !== 'host'), ['host', view.host]];
}

/**
 * A queued or webhook call's headers and origin as `/fn/` gives them to the app (clientView):
 * behind a trusted proxy, the client, scheme and prefix it reported, its forwarding headers consumed
 * and its Host in place; from any other peer, that peer over http and the headers as they are.
 * Kept with the run at acceptance: its attempts, later and elsewhere, have no peer to ask.
 */
export function edgeOf(deps: Pick<InvokeDeps, 'trustedProxies'>, req: Pick<IncomingRequest, 'peer' | 'peerPort'>, headers: Pairs): { headers: Pairs; origin: CallOrigin } {
  const edge = clientView(req.peer, headers, deps.trustedProxies, req.peerPort);
  return { headers: edge.trusted ? trustedHeaders(edge, headers) : headers, origin: { client: edge.client, scheme: edge.scheme, prefix: edge.prefix } };
}

/**
 * The version a queued or webhook call keeps from its acceptance (AsyncCall.httpVersion): `'1.0'`
 * for an HTTP/1.0 request, nothing for HTTP/1.1 (its envelope stays as before).
 */
export function versionOf(req: Pick<IncomingRequest, 'http10'>): { httpVersion?: '1.0' } {
  return req.http10 === true ? { httpVersion: '1.0' } : {};
}

/** A direct run's headers with its run id and attempt (protocol/trigger-headers.ts), any earlier ones dropped. */
function withRunHeaders(headers: Pairs, runId: string, attempt: number): Pairs {
  return [...headers.filter(([k]) => k !== RUN_ID_HEADER && k !== ATTEMPT_HEADER), [RUN_ID_HEADER, runId], [ATTEMPT_HEADER, String(attempt)]];
}

function wireEvent(rootPath: string, runId: string, r: Omit<DirectRequest, 'signal'>, headers: Pairs = r.headers): WireEvent {
  return {
    method: r.method,
    path: r.path,
    rawQuery: r.rawQuery,
    query: queryPairs(r.rawQuery),
    headers,
    body: r.body,
    requestId: runId,
    rootPath,
  };
}

function notInvoked(code: ErrorCode, message: string): InvocationResult {
  return { ...NOT_INVOKED, error: { code, class: null, type: code, message } };
}

interface Finished {
  response: OutgoingResponse;
  error: InvocationError | null;
  cold: boolean;
  durationMs: number;
  result: InvocationResult;
}

/** Maps the result to the response, and (off the request path) records the run and metrics. */
function finish(call: Call, result: WholeResult, invoked: boolean): Finished {
  const { deps, fn, runId, startedAt } = call;
  const origin: Origin = call;
  let error: InvocationError | null = result.error ? relativize(result.error, fn.dir) : null;
  if (error?.code === 'DATA_BACKEND_UNAVAILABLE' && !(deps.dataOutage?.(fn.name, startedAt) ?? false)) {
    // The runtime's claim comes from the function's process; the proxy said no such thing during
    // this call: the function's own failure (it raised or re-raised that error itself).
    error = { ...error, code: 'FUNCTION_ERROR', class: 'user_error' };
  }
  if (call.wsProtocols !== null) {
    const upgraded = webSocketAnswer(call, result, error);
    if (upgraded !== null && !('problem' in upgraded)) {
      const totalMs = performance.now() - origin.arrivedAt;
      invocationHeaders(runId, result.cold, { initMs: result.initMs, handlerMs: result.handlerMs, queuedMs: result.queuedMs, totalMs }, undefined, upgraded.headers);
      void result.after!.then((end) => recordRun(deps, origin, fn, runId, startedAt, result, invoked, 101,
        end.error === null ? null : relativize(end.error, fn.dir), { handlerMs: end.handlerMs, logs: end.logs, bytes: end.bytes }));
      return settled(call, upgraded, null, result, invoked, totalMs);
    }
    if (upgraded !== null) error = { code: 'FUNCTION_BAD_RESPONSE', class: 'bad_return', type: 'BadResponse', message: upgraded.problem };
    if (error?.class === 'bad_return' && error.type === 'WebSocketNotSupported') error = { ...error, code: 'WEBSOCKET_NOT_SUPPORTED', class: null };
  }
  let response: OutgoingResponse | null = null;
  let functionTiming: string[] | undefined;
  // An ASGI app that raised and answered anyway (Starlette's 500): the caller gets that answer,
  // the run record the exception (docs/api-invoke.md, "Errors"), also when what it raised was the
  // platform's failure under it (DATA_BACKEND_UNAVAILABLE: no class, poolmgr/outcome.ts).
  const appAnswered = error !== null && result.response !== null && (error.class === 'user_error' || error.code === 'DATA_BACKEND_UNAVAILABLE');
  if ((!error || appAnswered) && result.response) {
    const checked = checkFunctionResponse(result.response);
    if ('problem' in checked) {
      if (!appAnswered) error = { code: checked.code ?? 'FUNCTION_BAD_RESPONSE', class: 'bad_return', type: 'BadResponse', message: checked.problem };
    } else {
      // What the platform says of a result made whole (streamed.ts), after the function's own x-fp-* were dropped.
      if (result.marks !== undefined) checked.headers.push(...result.marks);
      response = { status: result.response.status, headers: checked.headers, body: result.response.body, headLength: headLength(result.response) };
      if (result.response.latin1 === true) response.latin1Headers = true;
      functionTiming = checked.serverTiming;
    }
  } else if (!error) {
    error = { code: 'INTERNAL_ERROR', class: null, type: 'NoResponse', message: 'the pool returned neither a response nor an error' };
  }

  const totalMs = performance.now() - origin.arrivedAt;
  const timings = { initMs: result.initMs, handlerMs: result.handlerMs, queuedMs: result.queuedMs, totalMs };
  if (response === null) {
    response = errorResponse(publicError(fn, error!, runId), runId, invocationHeaders(runId, result.cold, timings));
  } else {
    // Appended to the function's checked headers (a list of their own) in place.
    invocationHeaders(runId, result.cold, timings, functionTiming, response.headers);
  }
  const out = response!;
  if (result.after !== undefined) {
    if (error === null) {
      // The response went out before the call's end: the record waits for that end.
      if (result.body !== undefined) {
        out.stream = streamBody(result.body, call.trigger === 'http' ? callHolder(deps.registry, fn.name, call.secret) : null);
        // Announced by the function (an ASGI app's Content-Length, e.g. behind BaseHTTPMiddleware):
        // the body goes out with it, as under uvicorn, instead of chunked.
        const length = declaredLength(result.response!.headers);
        if (length !== undefined) out.streamLength = length;
        // A HEAD answer announces only a length the app declared: the first piece's was taken for
        // the whole body's (a streamed answer's HEAD said `content-length: 0`). Without one it says
        // `Transfer-Encoding: chunked`, as GET's answer and uvicorn's HEAD answer do.
        if (length === undefined) {
          delete out.headLength;
          out.headChunked = true;
        } else out.headLength = length;
      }
      void result.after.then((end) => recordRun(deps, origin, fn, runId, startedAt, result, invoked, out.status,
        end.error === null ? null : relativize(end.error, fn.dir), { handlerMs: end.handlerMs, logs: end.logs, bytes: end.bytes }));
      return settled(call, out, error, result, invoked, totalMs);
    }
    result.body?.cancel(); // its head was refused (FUNCTION_BAD_RESPONSE): the app's stream is cancelled
  }
  settled(call, out, error, result, invoked, totalMs);
  if (origin.trigger === 'http') {
    // After the response is written (RunBatcher.afterResponse: the call itself is the task); a
    // direct caller (async runs, triggers) may act on the run as soon as it has the result, so its
    // record is not deferred.
    deps.runs.afterResponse(call);
  } else {
    call.run();
  }
  return call;
}

/**
 * The answer to a WebSocket handshake the app accepted (a streamed 101: its messages are the body's
 * pieces), or null (refused: the app's 403, or a failure, answered as HTTP), or why the app's
 * accept headers cannot go out (checked as any answer's). The subprotocol is the app's choice only
 * when the client offered it (uWS writes it into the 101 as it is).
 */
function webSocketAnswer(call: Call, result: InvocationResult, error: InvocationError | null): OutgoingResponse | { problem: string } | null {
  if (error !== null || result.response?.status !== 101 || result.body === undefined || result.after === undefined) return null;
  const checked = checkFunctionResponse({ ...result.response, status: 200 });
  if ('problem' in checked) {
    result.body.cancel();
    return { problem: checked.problem };
  }
  const chosen = result.response.headers.find(([k]) => k === 'sec-websocket-protocol')?.[1] ?? '';
  const protocol = call.wsProtocols!.includes(chosen) ? chosen : '';
  // uWS writes the handshake's own headers (Sec-WebSocket-*, Upgrade, Connection).
  const headers = checked.headers.filter(([k]) => !k.startsWith('sec-websocket-'));
  return { status: 101, headers, websocket: new FunctionSocket(result.body, protocol, result.after, call.runId, callHolder(call.deps.registry, call.fn.name, call.secret)) };
}

/** What finish made of the call, kept on it (the Finished it returns, and what its record reads). */
function settled(call: Call, response: OutgoingResponse, error: InvocationError | null, result: InvocationResult, invoked: boolean, durationMs: number): Call {
  call.response = response;
  call.error = error;
  call.cold = result.cold;
  call.durationMs = durationMs;
  call.result = result;
  call.invoked = invoked;
  return call;
}

/** What the end of a call that responded early changes in its record. */
interface LateEnd {
  handlerMs: number;
  logs: RunRecord['logs'];
  bytes: number;
}

/** A run record keeps this much of a request's path (a path may be up to the head's 16 KiB). */
const MAX_RECORDED_PATH = 512;

/**
 * The run record and the metrics of a call, at its end; `late` when it responded before it ended.
 * `totalMs`: its duration when it ended with its response (else measured now, at its end).
 */
function recordRun(deps: InvokeDeps, origin: Origin, fn: FunctionVersion, runId: string, startedAt: number, result: InvocationResult,
  invoked: boolean, httpStatus: number, error: InvocationError | null, late: LateEnd | null, totalMs = performance.now() - origin.arrivedAt): void {
  // The function's own 5xx answer (an app's `JSONResponse(..., status_code=500)`, a handler's
  // `{"statusCode": 503}`) is a failed call, as a raised exception is: in usage's errors,
  // fp_invocations_total and `runs --status failed` alike (ADR 0185; it counted as a success in all
  // three while an async run of it failed). A 4xx is the caller's request answered.
  const answeredFailure = error === null && httpStatus >= 500;
  deps.metrics.observe(fn.name, error ? error.code : answeredFailure ? ANSWERED_5XX : 'ok', result.cold, totalMs / 1000, startedAt, result.sharedStart === true);
  const run: RunRecord = {
    runId,
    attempt: origin.attempt,
    function: fn.name,
    version: fn.version,
    trigger: origin.trigger,
    cold: result.cold,
    start: invoked ? result.start : null,
    initMs: result.initMs,
    handlerMs: late === null ? result.handlerMs : late.handlerMs,
    queuedMs: result.queuedMs,
    durationMs: totalMs,
    // An attempt of a queued run that answered 4xx failed too, as the dispatcher decides it (protocol/run-outcome.ts).
    status: callFailed({ httpStatus, errored: error !== null, queued: origin.queued }) ? 'failed' : 'succeeded',
    httpStatus,
    errorCode: error?.code ?? null,
    errorClass: error?.class ?? null,
    error: error ? runError(error) : null,
    logs: late === null ? result.logs : late.logs,
    startedAt,
    clientAborted: origin.signal?.aborted ?? false,
    method: origin.method,
    path: origin.path.length <= MAX_RECORDED_PATH ? origin.path : `${origin.path.slice(0, MAX_RECORDED_PATH)}…`,
  };
  const query = recordedQuery(origin.rawQuery);
  if (query !== undefined) run.query = query;
  if (late !== null) run.responseBytes = late.bytes;
  if (result.sharedStart === true) run.sharedStart = true;
  if (origin.queued) run.queued = true;
  deps.runs.push(run, fn.incarnation);
  if (deps.logTap !== null && deps.logTap.wants(fn.name)) {
    deps.logTap.end({
      function: fn.name, version: fn.version, runId, attempt: origin.attempt, status: run.status, errorCode: run.errorCode,
      httpStatus: run.httpStatus, durationMs: totalMs, lines: run.logs.length, startedAt,
    });
  }
}

/** The length a HEAD answer announces: the function's own Content-Length when it is one number, else its body's. */
function headLength(response: WireResponse): number {
  return declaredLength(response.headers) ?? response.body.byteLength;
}

/**
 * Codes whose message carries the function's own text (an exception's, a bad return's). With
 * DATA_BACKEND_UNAVAILABLE from the runtime, the text is the function's exception too (it may have
 * wrapped the proxy's error in its own words): shown like the others, only when verbose.
 */
const FUNCTION_TEXT_CODES: ReadonlySet<ErrorCode> = new Set(['FUNCTION_ERROR', 'FUNCTION_INIT_FAILED', 'FUNCTION_BAD_RESPONSE', 'FUNCTION_PROCESS_LIMIT', 'PLATFORM_PROCESS_LIMIT', ...RUNTIME_PLATFORM_CODES]);

/**
 * What an HTTP client may see about a failure. By default, for the function's own failures, the
 * code and a generic message: an exception's text can hold anything (a password in a connection
 * string), and any caller would read it. The owner reads it in the run record (its id is in the
 * answer). A function with `errors: verbose` (development) shows the message, the exception type,
 * file and line too. The stack stays in the run record either way.
 */
function publicError(fn: FunctionVersion, error: InvocationError, runId: string): PlatformError {
  const details: Record<string, unknown> = { ...error.details, function: fn.name };
  if (!FUNCTION_TEXT_CODES.has(error.code)) return new PlatformError(error.code, error.message, details);
  if (fn.errors !== 'verbose') {
    return new PlatformError(error.code, `${ERRORS[error.code].title} Its owner finds the details in the run record ${runId}.`, details);
  }
  if (error.code === 'FUNCTION_ERROR' || error.code === 'FUNCTION_INIT_FAILED') {
    details['type'] = error.type;
    if (error.file !== undefined) details['file'] = error.file;
    if (error.line !== undefined) details['line'] = error.line;
  }
  return new PlatformError(error.code, error.message, details);
}

function directError(error: InvocationError): DirectError {
  const out: DirectError = { code: error.code, message: error.message };
  if (error.code === 'FUNCTION_ERROR' || error.code === 'FUNCTION_INIT_FAILED') {
    out.type = error.type;
    if (error.file !== undefined) out.file = error.file;
    if (error.line !== undefined) out.line = error.line;
  }
  return out;
}

function runError(error: InvocationError): RunError {
  const out: RunError = { type: error.type, message: error.message };
  if (error.stack !== undefined) out.stack = error.stack;
  if (error.file !== undefined) out.file = error.file;
  if (error.line !== undefined) out.line = error.line;
  return out;
}

/** Paths inside the function's directory are shown relative to it (`main.py`, not `/srv/…/main.py`). */
function relativize(error: InvocationError, dir: string): InvocationError {
  if (error.file === undefined || !error.file.startsWith(dir + sep)) return error;
  return { ...error, file: relative(dir, error.file) };
}
