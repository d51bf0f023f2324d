/**
 * One synchronous invocation over HTTP: request → WireEvent → pool → response, plus the run
 * record and the metrics. The HTTP contract is docs/api-invoke.md.
 */
import { randomUUID } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import { relative, sep } from 'node:path';
import { isPlatformError, PlatformError, type ErrorCode, type Pairs, type WireEvent } from '../protocol/index.js';
import type { GatewayMetrics } from './metrics.js';
import type { FunctionVersion, InvocationError, InvocationPool, InvocationResult } from './pool.js';
import type { FunctionRegistry } from './registry.js';
import { checkFunctionResponse, errorResponse, invocationHeaders } from './responses.js';
import type { RunBatcher, RunError, RunRecord } from './runs.js';
import type { IncomingRequest, OutgoingResponse } from './uws-adapter.js';

export interface InvokeDeps {
  pool: InvocationPool;
  registry: FunctionRegistry;
  metrics: GatewayMetrics;
  runs: RunBatcher;
  shuttingDown(): boolean;
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

export async function invokeFunction(deps: InvokeDeps, req: IncomingRequest, name: string, path: string): Promise<OutgoingResponse> {
  const fn = deps.registry.get(name);
  if (!fn) return errorResponse(new PlatformError('FUNCTION_NOT_FOUND', `no function named "${name}"`, { function: name }));
  const runId = randomUUID();
  const startedAt = new Date();
  if (deps.shuttingDown()) {
    return finish(deps, req, fn, runId, startedAt, notInvoked('SHUTTING_DOWN', 'the gateway is shutting down'), false);
  }

  let body: Uint8Array;
  try {
    body = await req.body();
  } catch (err) {
    const code = isPlatformError(err) ? err.code : 'BAD_REQUEST';
    return finish(deps, req, fn, runId, startedAt, notInvoked(code, (err as Error).message), false);
  }

  const event: WireEvent = {
    method: req.method,
    path,
    rawQuery: req.rawQuery,
    query: queryPairs(req.rawQuery),
    headers: req.headers,
    body,
    requestId: runId,
    rootPath: `/fn/${name}`,
  };
  const result = await deps.pool.invoke(fn, event, { signal: req.signal, attempt: 1 });
  return finish(deps, req, fn, runId, startedAt, result, true);
}

/** Repeated keys kept in order; `+` and percent escapes decoded as browsers encode forms. */
export function queryPairs(rawQuery: string): Pairs {
  if (rawQuery === '') return [];
  const pairs: Pairs = [];
  for (const [key, value] of new URLSearchParams(rawQuery)) pairs.push([key, value]);
  return pairs;
}

function notInvoked(code: ErrorCode, message: string): InvocationResult {
  return { ...NOT_INVOKED, error: { code, class: null, type: code, message } };
}

/** Maps the result to the response, and (off the request path) records the run and metrics. */
function finish(deps: InvokeDeps, req: IncomingRequest, fn: FunctionVersion, runId: string, startedAt: Date, result: InvocationResult, invoked: boolean): OutgoingResponse {
  let error: InvocationError | null = result.error ? relativize(result.error, fn.dir) : null;
  let response: OutgoingResponse | null = null;
  if (!error && result.response) {
    const checked = checkFunctionResponse(result.response);
    if ('problem' in checked) {
      error = { code: 'FUNCTION_BAD_RESPONSE', class: 'bad_return', type: 'BadResponse', message: checked.problem };
    } else {
      response = { status: result.response.status, headers: checked.headers, body: result.response.body };
    }
  } else if (!error) {
    error = { code: 'INTERNAL_ERROR', class: null, type: 'NoResponse', message: 'the pool returned neither a response nor an error' };
  }

  const totalMs = performance.now() - req.arrivedAt;
  const headers = invocationHeaders(runId, result.cold, { initMs: result.initMs, handlerMs: result.handlerMs, queuedMs: result.queuedMs, totalMs });
  if (error) {
    response = errorResponse(new PlatformError(error.code, error.message, publicDetails(fn, error)), runId, headers);
  } else {
    response!.headers.push(...headers);
  }
  const out = response!;

  deps.metrics.observe(fn.name, error ? error.code : 'ok', result.cold, totalMs / 1000);
  const run: RunRecord = {
    runId,
    function: fn.name,
    version: fn.version,
    cold: result.cold,
    start: invoked ? result.start : null,
    initMs: result.initMs,
    handlerMs: result.handlerMs,
    queuedMs: result.queuedMs,
    durationMs: totalMs,
    status: error ? 'failed' : 'succeeded',
    httpStatus: out.status,
    errorCode: error?.code ?? null,
    errorClass: error?.class ?? null,
    error: error ? runError(error) : null,
    logs: result.logs,
    startedAt: startedAt.toISOString(),
    trigger: 'http',
    clientAborted: req.signal.aborted,
  };
  deps.runs.push(run);
  return out;
}

/**
 * What an HTTP client may see about a failure: who and why, and for the function's own errors
 * the exception type, file and line. The stack stays in the run record.
 */
function publicDetails(fn: FunctionVersion, error: InvocationError): Record<string, unknown> {
  const details: Record<string, unknown> = { function: fn.name };
  if (error.code === 'FUNCTION_ERROR' || error.code === 'FUNCTION_INIT_FAILED') {
    details['type'] = error.type;
    if (error.file !== undefined) details['file'] = error.file;
    if (error.line !== undefined) details['line'] = error.line;
  }
  return details;
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
