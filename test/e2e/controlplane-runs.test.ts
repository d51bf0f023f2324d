/**
 * Runs over the API: the test invoke (through the gateway's own path, trigger `test`), run
 * records in the store with their logs and errors, list filters (function, status, trigger,
 * since/until as ISO or Unix ms) and paging.
 */
import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';
import { deployed, errorOf, fnName, py, sleep, usePlatform } from './platform-harness.js';

const h = usePlatform();

const ECHO = fnName('echo');
const BOOM = fnName('boom');

describe('test invoke', () => {
  before(async () => {
    await deployed(h.api, ECHO, {
      'main.py': py(
        'def handler(event, context):',
        '    print("echo called")',
        '    if event["path"] == "/bytes":',
        '        return bytes([0, 255, 1, 254])',
        '    return {"method": event["method"], "path": event["path"], "query": event["multiQuery"],',
        '            "x": event["headers"].get("x-test"), "json": event.json() if event["headers"].get("content-type") == "application/json" else None,',
        '            "raw": list(event["body"]) if event["path"] == "/raw" else None}',
      ),
    });
    await deployed(h.api, BOOM, {
      'main.py': py('def handler(event, context):', '    print("about to fail")', '    raise ValueError("bad value 41")'),
    });
  });

  it('runs a JSON payload with method, path, query and headers, and says status, duration and cold', async () => {
    const res = await h.api.call('POST', `/functions/${ECHO}/invoke`, {
      method: 'put', path: '/items/7', query: { a: '1', b: ['2', '3'] }, headers: { 'X-Test': 'yes' }, body: { n: 1 },
    });
    assert.equal(res.status, 200);
    const r = res.body;
    assert.equal(r.status, 200);
    assert.deepEqual(r.body, { method: 'PUT', path: '/items/7', query: { a: ['1'], b: ['2', '3'] }, x: 'yes', json: { n: 1 }, raw: null });
    assert.equal(r.headers['content-type'], 'application/json');
    assert.equal(r.headers['x-run-id'], r.runId);
    assert.equal(typeof r.cold, 'boolean');
    assert.ok(r.durationMs > 0);
    assert.equal(r.error, undefined);
  });

  it('sends bodyBase64 bytes as they are, and returns a binary response as bodyBase64', async () => {
    const raw = await h.api.call('POST', `/functions/${ECHO}/invoke`, { path: '/raw', bodyBase64: Buffer.from([1, 2, 250]).toString('base64') });
    assert.deepEqual(raw.body.body.raw, [1, 2, 250]);
    const bytes = await h.api.call('POST', `/functions/${ECHO}/invoke`, { method: 'GET', path: '/bytes' });
    assert.equal(bytes.body.status, 200);
    assert.equal(bytes.body.body, undefined);
    assert.deepEqual([...Buffer.from(bytes.body.bodyBase64, 'base64')], [0, 255, 1, 254]);
  });

  it('reports a failing function with status, code, type and line, and records the run with its logs', async () => {
    const res = await h.api.call('POST', `/functions/${BOOM}/invoke`, {});
    assert.equal(res.status, 200);
    const r = res.body;
    assert.equal(r.status, 500);
    assert.deepEqual([r.error.code, r.error.type, r.error.file, r.error.line], ['FUNCTION_ERROR', 'ValueError', 'main.py', 3]);

    const run = await h.api.call('GET', `/runs/${r.runId}`);
    assert.equal(run.status, 200);
    const record = run.body.run;
    assert.deepEqual([record.function, record.version, record.trigger, record.status, record.httpStatus, record.errorCode], [BOOM, '1', 'test', 'failed', 500, 'FUNCTION_ERROR']);
    assert.equal(record.error.type, 'ValueError');
    assert.match(record.error.stack, /bad value 41/);
    assert.ok(record.logs.some((l: { msg: string }) => l.msg.includes('about to fail')));
    assert.ok(Number.isInteger(record.startedAt));
  });

  it('answers 404 for an unknown function and 400 for a bad body', async () => {
    const res = await h.api.call('POST', `/functions/${fnName('ghost')}/invoke`, {});
    assert.deepEqual([res.status, errorOf(res).code], [404, 'FUNCTION_NOT_FOUND']);
    const bad = await h.api.call('POST', `/functions/${ECHO}/invoke`, { method: 'GET /x' });
    assert.deepEqual([bad.status, errorOf(bad).code, errorOf(bad).field], [400, 'INVALID_FIELD', 'method']);
  });
});

describe('runs', () => {
  const name = fnName('runs');
  let t0 = 0;
  let t1 = 0;
  let failedRunId = '';

  before(async () => {
    await deployed(h.api, name, {
      'main.py': py('def handler(event, context):', '    print("run", event["query"].get("n"))', '    if event["query"].get("fail"):', '        raise RuntimeError("asked to")', '    return "ok"'),
    });
    t0 = Date.now();
    await sleep(5);
    for (const n of [1, 2, 3]) assert.equal((await fetch(`${h.url}/fn/${name}/?n=${n}`)).status, 200);
    await sleep(5);
    t1 = Date.now();
    await sleep(5);
    const failed = await fetch(`${h.url}/fn/${name}/?n=4&fail=1`);
    assert.equal(failed.status, 500);
    failedRunId = failed.headers.get('x-run-id')!;
    await h.api.call('POST', `/functions/${name}/invoke`, { method: 'GET', query: { n: '5' } });
  });

  const ids = async (query: string): Promise<string[]> => {
    const res = await h.api.call('GET', `/runs?function=${name}&${query}`);
    assert.equal(res.status, 200, JSON.stringify(res.body));
    return res.body.items.map((r: { runId: string }) => r.runId);
  };

  it('lists a function’s runs newest first, without logs', async () => {
    const res = await h.api.call('GET', `/runs?function=${name}`);
    assert.equal(res.body.items.length, 5);
    assert.equal(res.body.nextCursor, null);
    const times = res.body.items.map((r: { startedAt: number }) => r.startedAt);
    assert.deepEqual(times, [...times].sort((a, b) => b - a));
    assert.equal(res.body.items[0].logs, undefined);
    assert.equal(res.body.items[0].trigger, 'test');
  });

  it('filters by status and trigger', async () => {
    assert.deepEqual(await ids('status=failed'), [failedRunId]);
    assert.equal((await ids('status=succeeded')).length, 4);
    assert.equal((await ids('trigger=test')).length, 1);
    assert.equal((await ids('trigger=http')).length, 4);
  });

  it('filters by time: since (inclusive) and until (exclusive), as Unix ms or ISO 8601', async () => {
    assert.equal((await ids(`since=${t0}&until=${t1}`)).length, 3);
    assert.equal((await ids(`since=${t1}`)).length, 2);
    assert.equal((await ids(`since=${encodeURIComponent(new Date(t1).toISOString())}`)).length, 2);
    assert.equal((await ids(`until=${encodeURIComponent(new Date(t0).toISOString())}`)).length, 0);
  });

  it('pages with the cursor', async () => {
    const first = await h.api.call('GET', `/runs?function=${name}&limit=2`);
    assert.equal(first.body.items.length, 2);
    assert.ok(first.body.nextCursor);
    const second = await h.api.call('GET', `/runs?function=${name}&limit=2&cursor=${encodeURIComponent(first.body.nextCursor)}`);
    assert.equal(second.body.items.length, 2);
    const third = await h.api.call('GET', `/runs?function=${name}&limit=2&cursor=${encodeURIComponent(second.body.nextCursor)}`);
    assert.equal(third.body.items.length, 1);
    assert.equal(third.body.nextCursor, null);
    const all = [...first.body.items, ...second.body.items, ...third.body.items].map((r: { runId: string }) => r.runId);
    assert.equal(new Set(all).size, 5);
  });

  it('gets one run with its logs and error', async () => {
    const res = await h.api.call('GET', `/runs/${failedRunId}`);
    assert.equal(res.status, 200);
    assert.equal(res.body.run.errorCode, 'FUNCTION_ERROR');
    assert.equal(res.body.run.error.type, 'RuntimeError');
    assert.ok(res.body.run.logs.some((l: { msg: string }) => l.msg.includes('run 4')));
  });
});
