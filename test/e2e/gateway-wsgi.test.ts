/**
 * WSGI apps run unchanged (docs/adr/0077-wsgi-apps.md): a Flask app (the OpenFaaS python3-flask
 * template's kind, and Lambda's serverless-wsgi apps) and a bare PEP 3333 callable, through the
 * real gateway and runtimes. They were called as handler(event, context) and failed at their first
 * call (`KeyError: 'wsgi.url_scheme'`).
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { fnName, py, request, runRecord, useGateway } from './gateway-harness.js';

const FLASK = py(
  'import time',
  'from flask import Flask, Response, redirect, request, stream_with_context, url_for',
  'app = Flask(__name__)',
  '@app.route("/")',
  'def index():',
  '    return {"name": request.args.get("name"), "self": url_for("item", n=3, _external=True), "script": request.script_root,',
  '            "path": request.path, "scheme": request.scheme, "remote": request.remote_addr, "cookies": request.cookies}',
  '@app.route("/item/<int:n>", methods=["POST"])',
  'def item(n):',
  '    return {"n": n, "json": request.get_json(), "type": request.content_type, "x": request.headers.get("x-thing")}, 201',
  '@app.route("/go")',
  'def go():',
  '    return redirect(url_for("index"))',
  '@app.route("/stream")',
  'def stream():',
  '    def gen():',
  '        for i in range(3):',
  '            yield f"chunk {i}\\n"',
  '            time.sleep(0.4)',
  '    return Response(stream_with_context(gen()), mimetype="text/plain")',
  '@app.route("/empty", methods=["DELETE"])',
  'def empty():',
  '    return "", 204',
  '@app.route("/boom")',
  'def boom():',
  '    raise ValueError("a secret in the message")',
  '@app.route("/loop")',
  'def loop():',
  '    import asyncio',
  '    try:',
  '        asyncio.get_running_loop(); running = True',
  '    except RuntimeError:',
  '        running = False',
  '    async def answer():',
  '        return 42',
  '    return {"running": running, "ran": asyncio.run(answer())}',
  '@app.route("/echo", methods=["POST"])',
  'def echo():',
  '    return {"len": len(request.get_data()), "type": request.content_type, "trigger": request.headers.get("x-fp-trigger-id"),',
  '            "underscored": sorted(k for k in request.environ if k.startswith("HTTP_") and "FP" in k)}',
  '@app.route("/héllo")',
  'def unicode_path():',
  '    return {"path": request.path}',
);

/** PEP 3333 by hand: write() before the iterable, a generator with close(), a path with %2F. */
const BARE = py(
  'import time',
  'CLOSED = []',
  'def forever():',
  '    i = 0',
  '    try:',
  '        for i in range(300):',
  '            yield b"tick\\n"',
  '            time.sleep(0.05)',
  '    finally:',
  '        CLOSED.append("forever" if i < 299 else "forever ran to its end")',
  'def app(environ, start_response):',
  '    if environ["PATH_INFO"] == "/forever":',
  '        start_response("200 OK", [("content-type", "text/plain")])',
  '        return forever()',
  '    if environ["PATH_INFO"] == "/raise":',
  '        raise KeyError("a secret key")',
  '    if environ["PATH_INFO"] == "/str":',
  '        start_response("200 OK", [])',
  '        return ["not bytes"]',
  '    if environ["PATH_INFO"] == "/closed":',
  '        start_response("200 OK", [("content-type", "text/plain")])',
  '        return [str(CLOSED).encode()]',
  '    write = start_response("200 OK", [("content-type", "text/plain"), ("x-env", environ["SCRIPT_NAME"] + "|" + environ["PATH_INFO"] + "|" + environ["QUERY_STRING"])])',
  '    write(b"written;")',
  '    def body():',
  '        try:',
  '            yield b"a;"',
  '            yield b""',
  '            yield environ["wsgi.input"].read()',
  '        finally:',
  '            CLOSED.append(True)',
  '    return body()',
);

/**
 * Concurrency 1: the app runs on the runtime's event loop thread; above 1, in a thread per call
 * (runtime/fp_runtime/wsgi.py). Every test runs against both.
 */
const MODES = [
  { label: 'concurrency 1: on the loop', concurrency: 1, flask: fnName('flask'), bare: fnName('wsgi') },
  { label: 'concurrency 4: a thread per call', concurrency: 4, flask: fnName('flaskt'), bare: fnName('wsgit') },
];
/** A WSGI app whose second parameter is not named start_response: its `environ` first says what it is. */
const RENAMED = fnName('wsgi-renamed');
const h = useGateway({
  ...Object.fromEntries(MODES.flatMap((m) => [
    [m.flask, { files: { 'main.py': FLASK }, manifest: `entrypoint: main:app\nlimits:\n  concurrency: ${m.concurrency}` }],
    // One instance: a call after the stream's is served where its iterable was (or was not) closed.
    [m.bare, { files: { 'main.py': BARE }, manifest: `entrypoint: main:app\nlimits:\n  maxInstances: 1\n  concurrency: ${m.concurrency}` }],
  ])),
  [RENAMED]: { files: { 'main.py': py('def app(environ, respond):', '    respond("200 OK", [("content-type", "text/plain")])', '    return [environ["PATH_INFO"].encode()]') }, manifest: 'entrypoint: main:app' },
});

for (const { label, flask, bare } of MODES) describe(`WSGI apps (${label})`, () => {
  it('Flask: routes, query, JSON body, status, headers, cookies, url_for and script_root under /fn/<name>', async () => {
    const res = await request(`${h.url}/fn/${flask}/?name=ada`, { headers: { cookie: 'a=1; b=2' } });
    assert.equal(res.status, 200, res.body.toString());
    assert.deepEqual(JSON.parse(res.body.toString()), {
      name: 'ada', self: `${h.url}/fn/${flask}/item/3`, script: `/fn/${flask}`, path: '/', scheme: 'http', remote: '127.0.0.1', cookies: { a: '1', b: '2' },
    });
    const post = await request(`${h.url}/fn/${flask}/item/7`, { method: 'POST', headers: { 'content-type': 'application/json', 'x-thing': 'yes' }, body: Buffer.from('{"a":[1,2]}') });
    assert.equal(post.status, 201);
    assert.deepEqual(JSON.parse(post.body.toString()), { n: 7, json: { a: [1, 2] }, type: 'application/json', x: 'yes' });
  });

  it('Flask: a redirect stays under the mount point; a UTF-8 path routes; its own 404', async () => {
    const res = await request(`${h.url}/fn/${flask}/go`);
    assert.equal(res.status, 302);
    assert.equal(res.headers.location, `/fn/${flask}/`);
    const unicode = await request(`${h.url}/fn/${flask}/h%C3%A9llo`);
    assert.equal(unicode.status, 200, unicode.body.toString());
    assert.deepEqual(JSON.parse(unicode.body.toString()), { path: '/héllo' });
    const missing = await request(`${h.url}/fn/${flask}/nothing`);
    assert.equal(missing.status, 404);
    assert.match(missing.body.toString(), /Not Found/);
  });

  it('Flask: HEAD answers the headers with their Content-Length and no body; an empty 204', async () => {
    const get = await request(`${h.url}/fn/${flask}/?name=x`);
    const head = await request(`${h.url}/fn/${flask}/?name=x`, { method: 'HEAD' });
    assert.equal(head.status, 200);
    assert.equal(head.headers['content-length'], get.headers['content-length']);
    assert.equal(head.body.length, 0);
    const empty = await request(`${h.url}/fn/${flask}/empty`, { method: 'DELETE' });
    assert.equal(empty.status, 204);
    assert.equal(empty.body.length, 0);
  });

  it('Flask: the app sees no running event loop, as in a WSGI server (Django\'s ORM, asyncio.run and async views refuse one)', async () => {
    // At concurrency 1 the app runs on the runtime's loop thread: it saw that loop running, and
    // Django's every database call was SynchronousOnlyOperation (a 500).
    for (let i = 0; i < 2; i++) {
      const res = await request(`${h.url}/fn/${flask}/loop`);
      assert.equal(res.status, 200, res.body.toString());
      assert.deepEqual(JSON.parse(res.body.toString()), { running: false, ran: 42 });
    }
    assert.equal((await request(`${h.url}/fn/${flask}/?name=after`)).status, 200);
  });

  it('Flask: a chunked upload is read whole; a header named with `_` is dropped (it would fold into a real one)', async () => {
    const chunked = await request(`${h.url}/fn/${flask}/echo`, { method: 'POST', headers: { 'content-type': 'text/plain' }, body: [Buffer.from('hel'), Buffer.from('lo')] });
    assert.equal(chunked.status, 200, chunked.body.toString());
    // Werkzeug read nothing of a chunked request without wsgi.input_terminated: {len: 0}.
    assert.equal(JSON.parse(chunked.body.toString()).len, 5);
    const forged = await request(`${h.url}/fn/${flask}/echo`, {
      method: 'POST', body: Buffer.from('{}'),
      headers: { 'content-type': 'application/json', 'content_type': 'text/evil', 'x_fp_trigger_id': 'github', 'x_fp_other': '1' },
    });
    assert.deepEqual(JSON.parse(forged.body.toString()), { len: 2, type: 'application/json', trigger: null, underscored: [] });
  });

  it('Flask: a streamed response reaches the client chunk by chunk', async () => {
    const started = performance.now();
    const res = await fetch(`${h.url}/fn/${flask}/stream`);
    assert.equal(res.status, 200);
    const reader = res.body!.getReader();
    const first = await reader.read();
    const firstAt = performance.now() - started;
    assert.equal(new TextDecoder().decode(first.value), 'chunk 0\n');
    let rest = '';
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      rest += new TextDecoder().decode(value);
    }
    const total = performance.now() - started;
    assert.equal(rest, 'chunk 1\nchunk 2\n');
    assert.ok(total - firstAt >= 700, `the first chunk came before the rest (${firstAt.toFixed(0)} of ${total.toFixed(0)} ms)`);
  });

  it("Flask: an exception is Flask's own 500, never its message; the app logs it for the owner", async () => {
    const res = await request(`${h.url}/fn/${flask}/boom`);
    assert.equal(res.status, 500);
    assert.doesNotMatch(res.body.toString(), /secret/);
    assert.match(res.body.toString(), /Internal Server Error/);
    const run = await runRecord(h, String(res.headers['x-run-id']));
    assert.ok(run.logs.some((l) => /ValueError: a secret in the message/.test(l.msg)), JSON.stringify(run.logs));
  });

  it("PEP 3333: write() before the iterable, the request body in wsgi.input, SCRIPT_NAME/PATH_INFO, the iterable closed", async () => {
    const res = await request(`${h.url}/fn/${bare}/a%2Fb/c?x=1&y=%20`, { method: 'POST', body: Buffer.from('the body') });
    assert.equal(res.status, 200, res.body.toString());
    assert.equal(res.body.toString(), 'written;a;the body');
    assert.equal(res.headers['x-env'], `/fn/${bare}|/a/b/c|x=1&y=%20`);
    const closed = await request(`${h.url}/fn/${bare}/closed`);
    assert.equal(closed.body.toString(), '[True]');
  });

  it('a client that goes away mid-stream: the app stops at its next chunk and its iterable is closed', async () => {
    const abort = new AbortController();
    const res = await fetch(`${h.url}/fn/${bare}/forever`, { signal: abort.signal });
    const reader = res.body!.getReader();
    assert.equal(new TextDecoder().decode((await reader.read()).value).slice(0, 5), 'tick\n');
    abort.abort();
    // The call ends at once; the app's thread stops at its next chunk (≤ 50 ms here) and closes it.
    let closed = '';
    for (let i = 0; i < 40 && !closed.includes("'forever'"); i++) {
      if (i > 0) await new Promise((r) => setTimeout(r, 50));
      closed = (await request(`${h.url}/fn/${bare}/closed`)).body.toString();
    }
    assert.match(closed, /'forever'/);
  });

  it('an exception out of a bare WSGI app: a 500 without its message to the caller; type, file and line in the run record', async () => {
    const res = await request(`${h.url}/fn/${bare}/raise`);
    assert.equal(res.status, 500);
    assert.doesNotMatch(res.body.toString(), /secret/);
    const run = await runRecord(h, String(res.headers['x-run-id']));
    assert.equal(run.error?.type, 'KeyError');
    assert.equal(run.error?.file, 'main.py');
    assert.equal(run.error?.line, BARE.split('\n').indexOf('        raise KeyError("a secret key")') + 1);
    const str = await request(`${h.url}/fn/${bare}/str`);
    assert.equal(str.status, 500);
    const strRun = await runRecord(h, String(str.headers['x-run-id']));
    assert.match(strRun.error?.message ?? '', /body holds a str \('not bytes'\); WSGI bodies are bytes/);
  });
});

describe('a WSGI app of other parameter names', () => {
  it('app(environ, respond) is served as a WSGI app (it was called as a handler)', async () => {
    const res = await request(`${h.url}/fn/${RENAMED}/some/where`);
    assert.equal(res.status, 200, res.body.toString());
    assert.equal(res.body.toString(), '/some/where');
  });
});
