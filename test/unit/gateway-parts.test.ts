/** Pure parts of the gateway: routes, query pairs, response checks, run sinks, metric labels. */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { queryPairs } from '../../gateway/invoke.js';
import { GatewayMetrics, OTHER_FUNCTION } from '../../gateway/metrics.js';
import { labelValue, viewOf } from '../../gateway/metrics-view.js';
import { PLATFORM_METRICS } from '../../protocol/index.js';
import type { InvocationPool, PoolStats, StartHealth } from '../../gateway/pool.js';
import { checkFunctionResponse, confineToPrefix, invocationHeaders, MAX_RESPONSE_HEADER_BYTES, MAX_RESPONSE_HEADERS } from '../../gateway/responses.js';
import { isReady } from '../../gateway/gateway.js';
import { route } from '../../gateway/routes.js';
import { MemoryRunSink, RunBatcher, type RunRecord } from '../../gateway/runs.js';

describe('route', () => {
  const cases: [string, ReturnType<typeof route>][] = [
    ['/fn/hello', { kind: 'invoke', name: 'hello', path: '/' }],
    ['/fn/hello/', { kind: 'invoke', name: 'hello', path: '/' }],
    ['/fn/hello/a/b%20c/', { kind: 'invoke', name: 'hello', path: '/a/b%20c/' }],
    ['/fn/Hello/x', { kind: 'badFunctionName', name: 'Hello' }],
    ['/fn/', { kind: 'unknown' }],
    ['/async/hello', { kind: 'async', name: 'hello', path: '/' }],
    ['/async/hello/a/b', { kind: 'async', name: 'hello', path: '/a/b' }],
    ['/async/Hello', { kind: 'badFunctionName', name: 'Hello' }],
    ['/async/', { kind: 'unknown' }],
    ['/fn', { kind: 'unknown' }],
    ['/fnord', { kind: 'unknown' }],
    ['/healthz', { kind: 'healthz' }],
    ['/readyz', { kind: 'readyz' }],
    ['/metrics', { kind: 'metrics' }],
    ['/metrics/', { kind: 'unknown' }],
    ['/', { kind: 'unknown' }],
  ];
  for (const [url, expected] of cases) it(url, () => assert.deepEqual(route(url), expected));
});

describe('queryPairs', () => {
  it('keeps repeated keys in order and decodes form encoding', () => {
    assert.deepEqual(queryPairs('a=1&b=x+y&a=2&c=%C3%A9&flag'), [['a', '1'], ['b', 'x y'], ['a', '2'], ['c', 'é'], ['flag', '']]);
    assert.deepEqual(queryPairs(''), []);
  });
});

describe('checkFunctionResponse', () => {
  const body = new Uint8Array([1]);
  it('drops framing and reserved headers, keeps the rest with repeats', () => {
    const checked = checkFunctionResponse({
      status: 200,
      headers: [['Content-Length', '99'], ['set-cookie', 'a=1'], ['set-cookie', 'b=2'], ['transfer-encoding', 'chunked'], ['x-run-id', 'spoof'], ['X-Custom', 'v']],
      body,
    });
    assert.deepEqual(checked, { headers: [['set-cookie', 'a=1'], ['set-cookie', 'b=2'], ['X-Custom', 'v']], serverTiming: [] });
  });
  it('drops every x-fp-* name, the platform\'s on an answer, in any case (red team 45, ADR 0244)', () => {
    const checked = checkFunctionResponse({
      status: 200,
      headers: [['x-fp-result-omitted', '9'], ['X-FP-Sandbox', 'off'], ['x-fp-result-headers-omitted', '1'], ['x-fp-new', 'a'], ['x-fpkept', 'b'], ['x_fp_kept', 'c']],
      body,
    });
    assert.deepEqual(checked, { headers: [['x-fpkept', 'b'], ['x_fp_kept', 'c']], serverTiming: [] });
  });
  it('refuses more than MAX_RESPONSE_HEADERS headers or MAX_RESPONSE_HEADER_BYTES of them (red team 6)', () => {
    const many = (n: number): [string, string][] => Array.from({ length: n }, () => ['x', 'a'] as [string, string]);
    assert.equal(MAX_RESPONSE_HEADERS, 1000);
    // The runtime sends one header past the same bound (runtime/fp_runtime/frames.py).
    const frames = readFileSync(new URL('../../../runtime/fp_runtime/frames.py', import.meta.url), 'utf8');
    assert.equal(/^MAX_RESPONSE_HEADERS = (\d+)$/m.exec(frames)?.[1], String(MAX_RESPONSE_HEADERS));
    assert.ok(!('problem' in checkFunctionResponse({ status: 200, headers: many(MAX_RESPONSE_HEADERS), body })));
    const tooMany = checkFunctionResponse({ status: 200, headers: many(MAX_RESPONSE_HEADERS + 1), body });
    assert.ok('problem' in tooMany && tooMany.code === 'FUNCTION_RESPONSE_HEADERS_TOO_LARGE', JSON.stringify(tooMany).slice(0, 200));
    // 80 000 headers (red team 6: ~70 ms of the event loop each answer) are refused before any is checked.
    assert.equal((checkFunctionResponse({ status: 200, headers: many(80_000), body }) as { code?: string }).code, 'FUNCTION_RESPONSE_HEADERS_TOO_LARGE');
    const value = 'v'.repeat(MAX_RESPONSE_HEADER_BYTES / 4 - 1);
    assert.ok(!('problem' in checkFunctionResponse({ status: 200, headers: [['a', value], ['b', value], ['c', value], ['d', value]], body })), 'exactly the bound');
    const over = checkFunctionResponse({ status: 200, headers: [['a', value], ['b', value], ['c', value], ['de', value]], body });
    assert.ok('problem' in over && over.code === 'FUNCTION_RESPONSE_HEADERS_TOO_LARGE' && /256 KiB/.test(over.problem));
  });
  it('drops every hop-by-hop header and the names the function lists in Connection; keeps Date (ADR 0105)', () => {
    const checked = checkFunctionResponse({
      status: 200,
      headers: [
        ['Date', 'forged'], ['Connection', 'X-Secret, close'], ['Keep-Alive', 'timeout=5'], ['Proxy-Connection', 'keep-alive'],
        ['TE', 'trailers'], ['Trailer', 'x'], ['Upgrade', 'h2c'], ['x-secret', 'hidden'], ['X-Kept', 'yes'],
      ],
      body,
    });
    assert.deepEqual(checked, { headers: [['Date', 'forged'], ['X-Kept', 'yes']], serverTiming: [] });
  });
  it('prefixes the function\'s Server-Timing entries with fn., dropping malformed ones', () => {
    const checked = checkFunctionResponse({
      status: 200,
      headers: [['Server-Timing', 'total;dur=1, db;dur=53;desc="a, b", =bad, cache'], ['server-timing', 'x y, queue ; dur=2']],
      body,
    });
    assert.deepEqual(checked, { headers: [], serverTiming: ['fn.total;dur=1', 'fn.db;dur=53;desc="a, b"', 'fn.cache', 'fn.queue ; dur=2'] });
  });
  it('refuses header injection, control characters other than HTAB, and bad names', () => {
    for (const value of ['a\r\nset-cookie: evil', 'a\0b', 'a\x01b', 'a\x7fb', '\x1b[31mred']) {
      assert.ok('problem' in checkFunctionResponse({ status: 200, headers: [['x', value]], body }), JSON.stringify(value));
    }
    assert.ok(!('problem' in checkFunctionResponse({ status: 200, headers: [['x', 'a\tb café ☃']], body })));
    assert.ok('problem' in checkFunctionResponse({ status: 200, headers: [['bad name', 'v']], body }));
  });
  it('refuses a character past U+00FF in a value written as Latin-1 bytes: U+010D U+010A went out as CR LF (red team round 22)', () => {
    assert.ok('problem' in checkFunctionResponse({ status: 200, headers: [['x', 'a\u010d\u010aclear-site-data: "*"']], body, latin1: true }));
    assert.ok('problem' in checkFunctionResponse({ status: 200, headers: [['x', '\u2603']], body, latin1: true }));
    // Latin-1 itself passes; as text (UTF-8) any character does.
    assert.ok(!('problem' in checkFunctionResponse({ status: 200, headers: [['x', 'caf\u00e9 \u00ff']], body, latin1: true })));
    assert.ok(!('problem' in checkFunctionResponse({ status: 200, headers: [['x', 'a\u010d\u010a']], body })));
  });
  it('refuses statuses outside 200-599', () => {
    for (const status of [101, 199, 600, 200.5]) assert.ok('problem' in checkFunctionResponse({ status, headers: [], body }), String(status));
  });
});

describe('confineToPrefix (the path form: one origin for every function)', () => {
  it('drops origin-wide headers in any case, keeps the rest in order, and scopes a worker script to the prefix', () => {
    const response: [string, string][] = [['Content-Type', 'text/javascript'], ['SERVICE-WORKER-ALLOWED', '/'], ['x-a', '1'], ['Clear-Site-Data', '"*"'], ['nel', '{}'], ['Report-To', '{}'], ['alt-svc', 'clear'], ['Strict-Transport-Security', 'max-age=0'], ['x-b', '2']];
    confineToPrefix(response, [['host', 'h'], ['service-worker', 'script']], '/base/fn/app.acme/');
    assert.deepEqual(response, [['Content-Type', 'text/javascript'], ['x-a', '1'], ['x-b', '2'], ['service-worker-allowed', '/base/fn/app.acme/']]);
  });

  // A browser answers a 401 Basic challenge from its cache of the origin's credentials for that
  // realm: FastAPI's HTTPBasic() sends no realm, so another function's `Basic` got them (apps round 24).
  it('makes a Basic challenge\'s realm start with the prefix, in any spelling and list; leaves other schemes as they are', () => {
    const response: [string, string][] = [['WWW-Authenticate', 'Basic'], ['www-authenticate', 'basic realm="shop", charset="UTF-8"'],
      ['Www-Authenticate', 'Bearer realm="api", error="invalid_token", BASIC realm = admin'], ['www-authenticate', 'Bearer realm="basic area"'],
      ['www-authenticate', 'Basic realm="a \\"q\\""'], ['www-authenticate', 'Negotiate abc==, Basic'], ['x-basic', 'Basic']];
    confineToPrefix(response, [['host', 'h']], '/fn/app.acme/');
    assert.deepEqual(response, [['WWW-Authenticate', 'Basic realm="/fn/app.acme/"'], ['www-authenticate', 'basic realm="/fn/app.acme/ shop", charset="UTF-8"'],
      ['Www-Authenticate', 'Bearer realm="api", error="invalid_token", BASIC realm="/fn/app.acme/ admin"'], ['www-authenticate', 'Bearer realm="basic area"'],
      ['www-authenticate', 'Basic realm="/fn/app.acme/ a \\"q\\""'], ['www-authenticate', 'Negotiate abc==, Basic realm="/fn/app.acme/"'], ['x-basic', 'Basic']]);
  });

  it('drops a WWW-Authenticate naming Basic that does not read as challenges (a browser may still find one)', () => {
    for (const value of ['Basic realm="open', 'Basic dXNlcg==', 'realm="x", Basic', 'Basic realm=a b']) {
      const response: [string, string][] = [['www-authenticate', value], ['x-a', '1']];
      confineToPrefix(response, [], '/fn/app/');
      assert.deepEqual(response, [['x-a', '1']], value);
    }
  });

  // A browser files the credentials it answered a challenge with under the directory of the URL
  // that asked: `/fn/` for the bare name, from where it sends them unasked to every function (red team round 41).
  it('drops the Basic and Digest challenges of an answer at the bare name (/fn/<key>, directory /fn/), other schemes kept', () => {
    const response: [string, string][] = [['WWW-Authenticate', 'Basic'], ['www-authenticate', 'Bearer realm="api", Basic realm="shop"'],
      ['www-authenticate', 'Bearer realm="basic area"'], ['www-authenticate', 'Basic realm="open'], ['x-a', '1'],
      ['www-authenticate', 'Digest realm="shop", qop="auth", nonce="abc", algorithm=MD5']];
    confineToPrefix(response, [['host', 'h']], '/fn/app.acme/', true);
    assert.deepEqual(response, [['www-authenticate', 'Bearer realm="api"'], ['www-authenticate', 'Bearer realm="basic area"'], ['x-a', '1']]);
  });

  it('adds no scope to an answer that is not a worker script', () => {
    const response: [string, string][] = [['x-a', '1']];
    confineToPrefix(response, [['host', 'h']], '/fn/app/');
    assert.deepEqual(response, [['x-a', '1']]);
  });
});

describe('invocationHeaders', () => {
  it('gives run id, cold flag and Server-Timing', () => {
    assert.deepEqual(invocationHeaders('r1', true, { queuedMs: 0, initMs: 12.345, handlerMs: 1, totalMs: 14.2 }), [
      ['x-run-id', 'r1'],
      ['x-cold-start', '1'],
      ['server-timing', 'queue;dur=0, init;dur=12.35, handler;dur=1, total;dur=14.2'],
    ]);
  });
  it('puts the function\'s prefixed Server-Timing entries after the platform\'s, in one header', () => {
    const timing = invocationHeaders('r1', false, { queuedMs: 0, initMs: 0, handlerMs: 1, totalMs: 2 }, ['fn.db;dur=5']).find(([k]) => k === 'server-timing');
    assert.deepEqual(timing, ['server-timing', 'queue;dur=0, init;dur=0, handler;dur=1, total;dur=2, fn.db;dur=5']);
  });
  it('appends to a response\'s own list when given one, after its headers, and returns that list', () => {
    const own: [string, string][] = [['content-type', 'application/json']];
    const out = invocationHeaders('r2', false, { queuedMs: 0, initMs: 0, handlerMs: 0.5, totalMs: 1 }, undefined, own);
    assert.equal(out, own);
    assert.deepEqual(own, [['content-type', 'application/json'], ['x-run-id', 'r2'], ['x-cold-start', '0'], ['server-timing', 'queue;dur=0, init;dur=0, handler;dur=0.5, total;dur=1']]);
  });
});

function run(runId: string): RunRecord {
  return {
    runId, attempt: 1, function: 'f', version: 'v', cold: false, start: 'warm', initMs: 0, handlerMs: 1, queuedMs: 0, durationMs: 1,
    status: 'succeeded', httpStatus: 200, errorCode: null, errorClass: null, error: null, logs: [],
    startedAt: 0, trigger: 'http', clientAborted: false,
  };
}

describe('MemoryRunSink', () => {
  it('keeps the newest records up to its capacity, oldest first, findable by id', () => {
    const sink = new MemoryRunSink(3);
    for (const id of ['a', 'b', 'c', 'd', 'e']) sink.record(run(id));
    assert.deepEqual(sink.list().map((r) => r.runId), ['c', 'd', 'e']);
    assert.equal(sink.get('a'), undefined);
    assert.equal(sink.get('d')?.runId, 'd');
    assert.equal(sink.size, 3);
  });
});

describe('RunBatcher', () => {
  it('hands records over on setImmediate, not synchronously', async () => {
    const sink = new MemoryRunSink();
    const batcher = new RunBatcher(sink);
    batcher.push(run('x'));
    assert.equal(sink.size, 0);
    await new Promise((r) => setImmediate(r));
    assert.equal(sink.get('x')?.runId, 'x');
  });

  it('closeBatching hands over what waits, and from then on each record (and deferred work) at once', () => {
    const sink = new MemoryRunSink();
    const batcher = new RunBatcher(sink);
    batcher.push(run('before'));
    batcher.closeBatching();
    assert.equal(sink.get('before')?.runId, 'before');
    batcher.push(run('after'));
    assert.equal(sink.get('after')?.runId, 'after', 'no later turn of the loop to wait for');
    batcher.afterResponse(() => batcher.push(run('deferred')));
    assert.equal(sink.get('deferred')?.runId, 'deferred');
  });

  it('counts a throwing sink and a full buffer as drops, never throws', async () => {
    const drops: string[] = [];
    const batcher = new RunBatcher({ record: () => { throw new Error('down'); } }, (n, reason) => drops.push(`${reason}:${n}`), 2);
    for (const id of ['a', 'b', 'c']) batcher.push(run(id));
    await new Promise((r) => setImmediate(r));
    assert.deepEqual(drops, ['overflow:1', 'sink_error:1', 'sink_error:1']);
  });

  it('runs deferred work after the current I/O turn, before the records it pushes are handed over; a throwing task skips no other', async () => {
    const sink = new MemoryRunSink();
    const batcher = new RunBatcher(sink);
    const warnings: string[] = [];
    const onWarning = (w: Error): void => void warnings.push(w.message);
    process.on('warning', onWarning);
    try {
      batcher.afterResponse(() => { throw new Error('bug'); });
      batcher.afterResponse(() => batcher.push(run('late')));
      await Promise.resolve(); // microtasks (where a response is sent) come first
      assert.equal(sink.size, 0, 'nothing ran before the loop turn ended');
      await new Promise((r) => setImmediate(r));
      assert.equal(sink.get('late')?.runId, 'late', 'the deferred record reached the sink in the same flush');
      await new Promise((r) => setImmediate(r));
      assert.match(warnings.join('\n'), /could not record a run: Error: bug/);
    } finally {
      process.off('warning', onWarning);
    }
  });

  it('one setImmediate per request: the record its deferred work pushes goes in the same flush; work deferred by that work runs a turn later', async () => {
    const sink = new MemoryRunSink();
    const batcher = new RunBatcher(sink);
    const real = globalThis.setImmediate;
    let scheduled = 0;
    globalThis.setImmediate = ((fn: (...args: unknown[]) => void, ...args: unknown[]) => {
      scheduled++;
      return real(fn, ...args);
    }) as typeof setImmediate;
    try {
      batcher.afterResponse(() => batcher.push(run('a')));
      await new Promise((r) => real(r));
      assert.equal(sink.get('a')?.runId, 'a');
      assert.equal(scheduled, 1, 'the record pushed by the deferred work scheduled no second flush');
      batcher.afterResponse(() => batcher.afterResponse(() => batcher.push(run('b'))));
      await new Promise((r) => real(r));
      assert.equal(sink.get('b'), undefined, 'deferred by deferred work: not in the same turn');
      await new Promise((r) => real(r));
      assert.equal(sink.get('b')?.runId, 'b', 'nor left behind');
      assert.equal(scheduled, 3);
    } finally {
      globalThis.setImmediate = real;
    }
  });

  it('takes an object whose run() does the deferred work (the gateway\'s Call), in order with functions, on flush too', () => {
    const sink = new MemoryRunSink();
    const batcher = new RunBatcher(sink);
    const order: string[] = [];
    const call = { id: 'obj', run(): void { order.push(this.id); batcher.push(run(this.id)); } };
    batcher.afterResponse(() => order.push('fn'));
    batcher.afterResponse(call);
    batcher.afterResponse({ run: () => { throw new Error('bug'); } });
    batcher.afterResponse(() => order.push('after'));
    const onWarning = (): void => {};
    process.on('warning', onWarning);
    try {
      batcher.flush();
    } finally {
      process.off('warning', onWarning);
    }
    assert.deepEqual(order, ['fn', 'obj', 'after']);
    assert.equal(sink.get('obj')?.runId, 'obj', 'run() was called with the object as `this`');
  });

  it('flush() (shutdown) runs the work still deferred', () => {
    const sink = new MemoryRunSink();
    const batcher = new RunBatcher(sink);
    batcher.afterResponse(() => batcher.push(run('closing')));
    batcher.flush();
    assert.equal(sink.get('closing')?.runId, 'closing');
  });
});

describe('GatewayMetrics', () => {
  const stats: PoolStats = { generic: 2, spawning: 0, specializing: 0, warm: 1, busy: 0, queued: 0, functions: {}, scaledToZero: {} };
  const pool: InvocationPool = {
    invoke: () => Promise.reject(new Error('not used')), stats: () => stats,
    isolation: { mode: 'off', cgroups: null, seccomp: false, uidRange: null, warnings: [] },
  };

  it('caps distinct function labels, the rest share _other', async () => {
    const metrics = new GatewayMetrics(pool, { maxFunctions: 2 });
    for (const name of ['a', 'b', 'c', 'd', 'a']) metrics.observe(name, 'ok', false, 0.01);
    assert.equal(metrics.functionLabel('a'), 'a');
    assert.equal(metrics.functionLabel('c'), OTHER_FUNCTION);
    const { body } = await metrics.render();
    assert.match(body, /fp_invocations_total\{function="a",status="ok",cold="false"\} 2/);
    assert.match(body, /fp_invocations_total\{function="_other",status="ok",cold="false"\} 2/);
    assert.doesNotMatch(body, /function="c"/);
    assert.match(body, /fp_pool_runtimes\{state="generic"\} 2/);
  });

  it('counts runtimes that could not start and says which zygote is bypassed (reliability round 8)', async () => {
    let health: StartHealth = { startFailures: 3, zygotes: { default: { state: 'bypassed', bypasses: 1 }, fastapi: { state: 'ready', bypasses: 0 } } };
    const metrics = new GatewayMetrics({ ...pool, startHealth: () => health });
    let { body } = await metrics.render();
    assert.match(body, /fp_runtime_start_failures_total 3/);
    assert.match(body, /fp_zygote_bypassed\{preset="default"\} 1/);
    assert.match(body, /fp_zygote_bypassed\{preset="fastapi"\} 0/);
    health = { startFailures: 5, zygotes: { default: { state: 'ready', bypasses: 1 }, fastapi: { state: 'ready', bypasses: 0 } } };
    ({ body } = await metrics.render());
    assert.match(body, /fp_runtime_start_failures_total 5/);
    assert.match(body, /fp_zygote_bypassed\{preset="default"\} 0/);
  });
});

describe('metrics views (ADR 0036)', () => {
  const text = [
    '# HELP fp_invocations_total Function invocations by outcome.',
    '# TYPE fp_invocations_total counter',
    'fp_invocations_total{function="shop",status="ok",cold="false"} 1',
    'fp_invocations_total{function="shop.acme",status="ok",cold="false"} 2',
    'fp_invocations_total{function="cart.acme",status="ok",cold="true"} 3',
    'fp_invocations_total{function="shop.rival",status="ok",cold="false"} 4',
    'fp_invocations_total{function="_other",status="ok",cold="false"} 5',
    'fp_invocations_total{function="shop.default",status="ok",cold="false"} 6',
    'fp_invocation_duration_seconds_bucket{le="0.5",function="cart.acme"} 7',
    'fp_invocation_duration_seconds_bucket{function="shop.rival",le="+Inf"} 8',
    '# TYPE fp_pool_runtimes gauge',
    'fp_pool_runtimes{state="warm"} 9',
    'fp_runs_dropped_total 10',
    'nodejs_version_info{version="function=\\"x.acme\\""} 1',
    '',
  ].join('\n');
  const samples = (body: string): number[] => body.split('\n').filter((l) => l !== '' && !l.startsWith('#')).map((l) => Number(l.split(' ').at(-1)));

  it('all: the text as it is', () => assert.equal(viewOf(text, { kind: 'all' }), text));

  it('platform: no sample with a function label, every header and platform series kept', () => {
    const body = viewOf(text, PLATFORM_METRICS);
    assert.deepEqual(samples(body), [9, 10, 1]);
    assert.match(body, /^# TYPE fp_invocations_total counter$/m, 'headers are the same whatever the traffic');
    assert.doesNotMatch(body, /shop|cart/);
  });

  it('workspace: its own keys only; never another workspace, _other or a non-canonical key', () => {
    assert.deepEqual(samples(viewOf(text, { kind: 'workspace', workspace: 'acme' })), [2, 3, 7, 9, 10, 1]);
    assert.deepEqual(samples(viewOf(text, { kind: 'workspace', workspace: 'default' })), [1, 9, 10, 1]);
    assert.deepEqual(samples(viewOf(text, { kind: 'workspace', workspace: 'nobody' })), [9, 10, 1]);
  });

  it('workspace without the platform series (FP_METRICS_PLATFORM_SERIES=root, ADR 0139): its own keys alone, headers kept', () => {
    const body = viewOf(text, { kind: 'workspace', workspace: 'acme', platform: false });
    assert.deepEqual(samples(body), [2, 3, 7]);
    assert.match(body, /^# TYPE fp_pool_runtimes gauge$/m);
    assert.deepEqual(samples(viewOf(text, { kind: 'workspace', workspace: 'nobody', platform: false })), []);
  });

  it('drops a line whose labels do not parse (fail closed)', () => {
    for (const bad of ['x{function="a.acme} 1', 'x{function="a.acme",oops} 1', 'x{function="a.acme",function="b.acme"} 1', 'x{function="a.acme"x} 1', 'x{bad-name="1",function="a.acme"} 1']) {
      assert.equal(viewOf(bad, { kind: 'workspace', workspace: 'acme' }), '', bad);
    }
  });

  it('reads label values with their escapes', () => {
    assert.equal(labelValue('x{a="q\\"\\\\\\n",function="f.w"} 1', 'a'), 'q"\\\n');
    assert.equal(labelValue('x{a="1",function="f.w"} 1', 'function'), 'f.w');
    assert.equal(typeof labelValue('x 1', 'function'), 'symbol');
    assert.equal(typeof labelValue('x{a="1",} 1', 'function'), 'symbol');
  });

  it('GatewayMetrics.render cuts its exposition to the view, label cap unchanged', async () => {
    const stats: PoolStats = { generic: 1, spawning: 0, specializing: 0, warm: 0, busy: 0, queued: 0, functions: {}, scaledToZero: {} };
    const pool: InvocationPool = {
      invoke: () => Promise.reject(new Error('not used')), stats: () => stats,
      isolation: { mode: 'off', cgroups: null, seccomp: false, uidRange: null, warnings: [] },
    };
    const metrics = new GatewayMetrics(pool, { maxFunctions: 2, processMetrics: false });
    for (const name of ['a.acme', 'b.rival', 'c.acme']) metrics.observe(name, 'ok', false, 0.01);
    const mine = (await metrics.render({ kind: 'workspace', workspace: 'acme' })).body;
    assert.match(mine, /fp_invocations_total\{function="a\.acme",status="ok",cold="false"\} 1/);
    assert.doesNotMatch(mine, /b\.rival|_other/, 'c.acme is past the cap: in _other, which only the root token sees');
    assert.match((await metrics.render()).body, /function="_other"/);
    const anyone = (await metrics.render(PLATFORM_METRICS)).body;
    assert.doesNotMatch(anyone, /function=/);
    assert.match(anyone, /fp_pool_runtimes\{state="generic"\} 1/);
  });
});

describe('isReady', () => {
  const pool = (generic: number, spawning: number, warm: number, busy: number): PoolStats => ({ generic, spawning, specializing: 0, warm, busy, queued: 0, functions: {}, scaledToZero: {} });
  it('is ready with a generic runtime ready or being spawned, never while shutting down', () => {
    assert.equal(isReady(pool(1, 0, 0, 0), false), true);
    assert.equal(isReady(pool(0, 1, 0, 0), false), true);
    assert.equal(isReady(pool(1, 0, 3, 0), true, true), false);
  });
  it('with none, is ready while warm instances serve and a problem says why no runtime can start (chaos round 8: no_runtimes out of descriptors)', () => {
    assert.equal(isReady(pool(0, 0, 1, 0), false, true), true);
    assert.equal(isReady(pool(0, 0, 0, 1), false, true), true);
    assert.equal(isReady(pool(0, 0, 1, 0), false), false, 'unexplained: no runtimes');
    assert.equal(isReady(pool(0, 0, 0, 0), false, true), false, 'nothing serves');
  });
});
