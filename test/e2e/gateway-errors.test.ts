/**
 * Every failure over real HTTP ends in its registry code and status, with a JSON error body:
 * routing (404), body limit (413), busy (429), timeout (504), runtime failures (502) and the
 * function's own errors (500, with type, file and line).
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { errorOf, fnName, py, request, runRecord, useGateway } from './gateway-harness.js';

const OK = fnName('ok');
const SLOW_ONE = fnName('slow');
const TIMEOUT = fnName('timeout');
const CRASH = fnName('crash');
const BROKEN = fnName('broken');
const BAD_RETURN = fnName('badret');
const RAISES = fnName('raises');
const SIX_MIB = 6 * 1024 * 1024;

// A pure central queue: with pipelining (docs/adr/0005-pipelined-dispatch.md) a ready instance
// also holds calls sent ahead of time, so "maxQueue: 0" would not mean "the second call is refused".
const CENTRAL_QUEUE = { pipelineDepth: 0 };

const h = useGateway({
  [OK]: { files: { 'main.py': py('def handler(event, context):', '    return {"size": len(event["body"])}') } },
  [SLOW_ONE]: {
    manifest: 'limits:\n  maxInstances: 1\n  maxQueue: 0',
    files: { 'main.py': py('import time', 'def handler(event, context):', '    time.sleep(0.8)', '    return "done"') },
  },
  [TIMEOUT]: {
    manifest: 'limits:\n  timeout: 500ms',
    files: { 'main.py': py('import time', 'def handler(event, context):', '    if event["query"].get("sleep"):', '        time.sleep(10)', '    return "quick"') },
  },
  [CRASH]: { files: { 'main.py': py('import os', 'def handler(event, context):', '    os._exit(3)') } },
  [BROKEN]: { files: { 'main.py': py('import json', 'raise RuntimeError("cannot start")', 'def handler(event, context):', '    return 1') } },
  [BAD_RETURN]: { files: { 'main.py': py('def handler(event, context):', '    return object()') } },
  [RAISES]: {
    files: {
      'main.py': py(
        'def helper(x):',
        '    raise ValueError(f"bad value {x}")  # line 2',
        'def handler(event, context):',
        '    return helper(41)',
      ),
    },
  },
}, {}, CENTRAL_QUEUE);

describe('routing errors', () => {
  it('404 FUNCTION_NOT_FOUND for an unknown function, with no run id', async () => {
    for (const path of [`/fn/${fnName('missing')}/x`, '/fn/Not_A_Label']) {
      const res = await fetch(`${h.url}${path}`);
      assert.equal(res.status, 404);
      const err = errorOf(await res.text());
      assert.equal(err.code, 'FUNCTION_NOT_FOUND');
      assert.equal(err.component, 'gateway');
      assert.equal(res.headers.get('access-control-allow-origin'), '*');
      assert.equal(res.headers.get('x-run-id'), null);
    }
  });

  it('404 ROUTE_NOT_FOUND for an unknown route', async () => {
    for (const path of ['/nope', '/fn/', '/fn', '/']) {
      const res = await fetch(`${h.url}${path}`);
      assert.equal(res.status, 404, path);
      const err = errorOf(await res.text());
      assert.equal(err.code, 'ROUTE_NOT_FOUND');
      // It says where things are (a browser opened at the banner's URL got only "no route for GET /").
      assert.match(String(err.message), /^no route for GET \/\S*: functions answer at \/fn\/<name>\//, path);
    }
  });
});

describe('413 PAYLOAD_TOO_LARGE', () => {
  const tooBig = Buffer.alloc(SIX_MIB + 1, 7);

  it('refuses 6 MiB + 1 announced by Content-Length', async () => {
    const res = await fetch(`${h.url}/fn/${OK}/`, { method: 'POST', body: tooBig });
    assert.equal(res.status, 413);
    // Readable by a page of another origin (the app's CORS middleware never saw the call).
    assert.equal(res.headers.get('access-control-allow-origin'), '*');
    assert.match(res.headers.get('access-control-expose-headers') ?? '', /retry-after/);
    const err = errorOf(await res.text());
    assert.equal(err.code, 'PAYLOAD_TOO_LARGE');
    assert.ok(err.runId, 'a refused call to a known function has a run id');
    const run = await runRecord(h, err.runId);
    assert.equal(run.errorCode, 'PAYLOAD_TOO_LARGE');
    assert.equal(run.httpStatus, 413);
  });

  it('refuses 6 MiB + 1 sent chunked (no Content-Length), while streaming', async () => {
    const pieces = Array.from({ length: 7 }, (_, i) => tooBig.subarray(i * 1024 * 1024, (i + 1) * 1024 * 1024));
    assert.equal(Buffer.concat(pieces).length, SIX_MIB + 1);
    const res = await request(`${h.url}/fn/${OK}/`, { method: 'POST', body: pieces, headers: { 'transfer-encoding': 'chunked' } });
    assert.equal(res.status, 413);
    assert.equal(res.headers['access-control-allow-origin'], '*', 'refused while streaming, by the adapter: the same headers');
    assert.equal(errorOf(res.body).code, 'PAYLOAD_TOO_LARGE');
  });

  it('accepts exactly 6 MiB, chunked and sized', async () => {
    const max = tooBig.subarray(0, SIX_MIB);
    const sized = await fetch(`${h.url}/fn/${OK}/`, { method: 'POST', body: max });
    assert.equal(sized.status, 200);
    assert.deepEqual(await sized.json(), { size: SIX_MIB });
    const chunked = await request(`${h.url}/fn/${OK}/`, { method: 'POST', body: [max.subarray(0, 100), max.subarray(100)], headers: { 'transfer-encoding': 'chunked' } });
    assert.equal(chunked.status, 200);
    assert.deepEqual(JSON.parse(chunked.body.toString()), { size: SIX_MIB });
  });
});

describe('pool and runtime failures', () => {
  it('429 FUNCTION_BUSY when the only instance is busy and the queue is 0', async () => {
    const results = await Promise.all([0, 1, 2].map(() => fetch(`${h.url}/fn/${SLOW_ONE}/`).then(async (r) => ({ status: r.status, body: await r.text() }))));
    const statuses = results.map((r) => r.status).sort();
    assert.equal(statuses.filter((s) => s === 200).length, 1, `statuses: ${statuses.join(',')}`);
    const busy = results.filter((r) => r.status === 429);
    assert.equal(busy.length, 2);
    for (const r of busy) assert.equal(errorOf(r.body).code, 'FUNCTION_BUSY');
  });

  it('504 FUNCTION_TIMEOUT past limits.timeout, and the next call works', async () => {
    const res = await fetch(`${h.url}/fn/${TIMEOUT}/?sleep=1`);
    assert.equal(res.status, 504);
    const err = errorOf(await res.text());
    assert.equal(err.code, 'FUNCTION_TIMEOUT');
    assert.equal(err.runId, res.headers.get('x-run-id'));
    const next = await fetch(`${h.url}/fn/${TIMEOUT}/`);
    assert.equal(next.status, 200);
    assert.equal(await next.json(), 'quick');
  });

  it('502 RUNTIME_CRASHED when the process dies mid-call', async () => {
    const res = await fetch(`${h.url}/fn/${CRASH}/`);
    assert.equal(res.status, 502);
    const err = errorOf(await res.text());
    assert.equal(err.code, 'RUNTIME_CRASHED');
    assert.equal(err.component, 'runtime');
  });

  it('502 FUNCTION_INIT_FAILED when the module raises at import: a generic message to the caller, file and line in the run record', async () => {
    const res = await fetch(`${h.url}/fn/${BROKEN}/`);
    assert.equal(res.status, 502);
    const err = errorOf(await res.text());
    assert.equal(err.code, 'FUNCTION_INIT_FAILED');
    assert.equal(err['type'], undefined);
    assert.equal(err['file'], undefined);
    const run = await runRecord(h, err.runId!);
    assert.equal(run.error?.type, 'RuntimeError');
    assert.equal(run.error?.file, 'main.py');
    assert.equal(run.error?.line, 2);
  });

  it('502 FUNCTION_BAD_RESPONSE when the handler returns something that is not a response', async () => {
    const res = await fetch(`${h.url}/fn/${BAD_RETURN}/`);
    assert.equal(res.status, 502);
    assert.equal(errorOf(await res.text()).code, 'FUNCTION_BAD_RESPONSE');
  });
});

describe("the function's own errors", () => {
  it('500 FUNCTION_ERROR with a generic message; type, message, file, line and stack only in the run record', async () => {
    const res = await fetch(`${h.url}/fn/${RAISES}/`);
    assert.equal(res.status, 500);
    assert.equal(res.headers.get('content-type'), 'application/json');
    const text = await res.clone().text();
    assert.doesNotMatch(text, /bad value|ValueError|main\.py/);
    const err = errorOf(await res.text());
    assert.equal(err.code, 'FUNCTION_ERROR');
    assert.equal(err.component, 'function');
    assert.equal(err['type'], undefined);
    assert.equal(err['file'], undefined);
    assert.equal(err['stack'], undefined);
    assert.equal(err.runId, res.headers.get('x-run-id'));

    const run = await runRecord(h, err.runId!);
    assert.equal(run.status, 'failed');
    assert.equal(run.errorCode, 'FUNCTION_ERROR');
    assert.equal(run.errorClass, 'user_error');
    assert.equal(run.httpStatus, 500);
    assert.equal(run.error?.type, 'ValueError');
    assert.equal(run.error?.message, 'bad value 41');
    assert.equal(run.error?.file, 'main.py');
    assert.equal(run.error?.line, 2);
    assert.match(run.error?.stack ?? '', /ValueError/);
  });
});
