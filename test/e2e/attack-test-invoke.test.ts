/**
 * Red team 10 (December 2026): the test invoke (`POST /api/v1/functions/{name}/invoke`, role
 * invoker) answers the function's response inside JSON: the body whole, in base64 when it is not
 * text. A function answering 60 MiB made each test invoke hold ~130 MB of the platform's memory
 * (the body, its base64 text, the JSON text and its bytes), as many at once as the function has
 * instances and concurrency (up to 50 × its concurrency): measured by hand, ten at once took the
 * platform from 300 MB to 1.3 GB, while ten `/fn/` calls of the same function added ~125 MB. Now a
 * test invoke keeps 6 MiB of an answer, as an async run's stored result does, and says the size
 * (`x-fp-result-omitted`); a streamed answer past it is read to its end and not kept.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { createFunction, deploy, deployed, fnName, py, upload, usePlatform } from './platform-harness.js';

const SIZE = 40 * 1024 * 1024;
const AT_ONCE = 8;
const h = usePlatform({ poolSize: 1 });

describe('a test invoke keeps at most 6 MiB of an answer', () => {
  it(`${AT_ONCE} test invokes of a function answering ${SIZE >> 20} MiB: each says the size, none carries the body, the platform's memory stays`, async () => {
    const name = fnName('big');
    await deployed(h.api, name, {
      'main.py': py('import os', `BLOB = os.urandom(${SIZE})`, 'def handler(event, context):', '    return BLOB'),
    }, { limits: { memory: '512Mi', maxInstances: AT_ONCE, timeout: '60s' } });
    // One first, so the instances that follow are the platform's only growth.
    const first = await h.api.call('POST', `/functions/${name}/invoke`, {});
    assert.equal(first.status, 200, JSON.stringify(first.body).slice(0, 300));
    assert.equal(first.body.headers['x-fp-result-omitted'], String(SIZE));
    assert.equal(first.body.body, '');
    assert.equal(first.body.bodyBase64, undefined);

    const baseline = process.memoryUsage().rss;
    let peak = baseline;
    const sampler = setInterval(() => (peak = Math.max(peak, process.memoryUsage().rss)), 10);
    try {
      const answers = await Promise.all(Array.from({ length: AT_ONCE }, () => h.api.call('POST', `/functions/${name}/invoke`, {})));
      for (const a of answers) {
        assert.equal(a.status, 200);
        assert.equal(a.body.status, 200);
        assert.equal(a.body.headers['x-fp-result-omitted'], String(SIZE));
      }
    } finally {
      clearInterval(sampler);
    }
    // Measured here: 534 MiB before (each body, its base64, the JSON), 254 MiB after (the answers'
    // frames as they arrive, as for /fn/ calls). A loose bound: RSS is noisy on a shared machine.
    const grew = (peak - baseline) / 1024 / 1024;
    assert.ok(grew < 420, `the platform grew by ${grew.toFixed(0)} MiB for ${AT_ONCE} test invokes`);

    // A small answer is shown whole, as before.
    const small = fnName('small');
    await deployed(h.api, small, { 'main.py': py('def handler(event, context):', '    return {"ok": True}') });
    const shown = await h.api.call('POST', `/functions/${small}/invoke`, {});
    assert.deepEqual(shown.body.body, { ok: true });
    assert.equal(shown.body.headers['x-fp-result-omitted'], undefined);
  });

  it('a streamed answer past 6 MiB is read to its end and not kept: its size is said, its end recorded', async () => {
    const name = fnName('stream');
    await createFunction(h.api, name);
    await upload(h.api, name, {
      'main.py': py(
        'async def app(scope, receive, send):',
        '    await send({"type": "http.response.start", "status": 200, "headers": [(b"content-type", b"application/octet-stream")]})',
        '    chunk = b"x" * (1 << 20)',
        '    for _ in range(10):',
        '        await send({"type": "http.response.body", "body": chunk, "more_body": True})',
        '    await send({"type": "http.response.body", "body": b"", "more_body": False})',
      ),
    }, { entrypoint: 'main:app' });
    await deploy(h.api, name);
    const answer = await h.api.call('POST', `/functions/${name}/invoke`, { method: 'GET' });
    assert.equal(answer.status, 200, JSON.stringify(answer.body).slice(0, 300));
    assert.equal(answer.body.status, 200, JSON.stringify((await h.api.call('GET', `/runs/${answer.body.runId as string}`)).body).slice(0, 1500));
    assert.equal(answer.body.error, undefined);
    assert.equal(answer.body.headers['x-fp-result-omitted'], String(10 << 20));
    assert.equal(answer.body.body, '');
  });
});

describe('a test invoke is the request a browser would send (helper round, 2026-12-05)', () => {
  it("carries the platform's public host unless the test names one (an app saw `function`: TrustedHostMiddleware 400)", async () => {
    const name = fnName('host');
    await deployed(h.api, name, { 'main.py': py('def handler(event, context):', '    return {"host": event["headers"].get("host")}') });
    const plain = await h.api.call('POST', `/functions/${name}/invoke`, {});
    assert.equal(plain.status, 200, JSON.stringify(plain.body));
    assert.deepEqual(plain.body.body, { host: new URL(h.url).host });
    const named = await h.api.call('POST', `/functions/${name}/invoke`, { headers: { Host: 'shop.example.com' } });
    assert.deepEqual(named.body.body, { host: "shop.example.com" });
  });

  it('keeps several Set-Cookie values apart (a line break between them: an Expires holds a comma)', async () => {
    const name = fnName('cookies');
    await deployed(h.api, name, { 'main.py': py('def handler(event, context):', '    return {"statusCode": 200, "headers": {"set-cookie": ["a=1; Path=/", "old=; expires=Sat, 05 Dec 2026 01:05:38 GMT"], "x-a": ["1", "2"]}, "body": "ok"}') });
    const res = await h.api.call('POST', `/functions/${name}/invoke`, {});
    assert.equal(res.status, 200, JSON.stringify(res.body));
    assert.equal(res.body.headers['set-cookie'], 'a=1; Path=/\nold=; expires=Sat, 05 Dec 2026 01:05:38 GMT');
    assert.equal(res.body.headers['x-a'], '1, 2', 'other repeated headers as before');
  });
});
