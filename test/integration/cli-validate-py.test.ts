/** runtime/validate.py, the Python side of `validate`, on a real interpreter. */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { describe, it } from 'node:test';
import { EXIT } from '../../cli/errors.js';
import { preflight } from '../../cli/preflight.js';
import { PythonChecker, pythonPath, runPythonPreflight, VALIDATE_SCRIPT, type PyReport } from '../../cli/python.js';

const PYTHON = pythonPath(undefined);

function folder(files: Record<string, string>): string {
  const dir = mkdtempSync(join(tmpdir(), 'fp-cli-py-'));
  for (const [path, content] of Object.entries(files)) {
    mkdirSync(dirname(join(dir, path)), { recursive: true });
    writeFileSync(join(dir, path), content);
  }
  return dir;
}

/** The warnings kept whatever the manifest's triggers: the app's routes (`needs: triggers`) go with any FastAPI app that has routes. */
function untriggered(r: PyReport): PyReport['warnings'] {
  return r.warnings.filter((w) => w.needs !== 'triggers');
}

async function check(files: Record<string, string>, entrypoint: string): Promise<PyReport> {
  const dir = folder(files);
  try {
    return await runPythonPreflight(PYTHON, dir, entrypoint, Object.keys(files));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** The modules of `names` that validate.py's check of `files` left imported. */
function importedBy(files: Record<string, string>, names: string[]): string[] {
  const dir = folder(files);
  try {
    const script = [
      'import json, sys',
      `sys.path.insert(0, ${JSON.stringify(dirname(VALIDATE_SCRIPT))})`,
      'import validate',
      `validate.check(${JSON.stringify(dir)}, "main:handler", ${JSON.stringify(Object.keys(files))})`,
      `print(json.dumps([m for m in ${JSON.stringify(names)} if m in sys.modules]))`,
    ].join('\n');
    return JSON.parse(execFileSync(PYTHON, ['-I', '-c', script], { encoding: 'utf8' })) as string[];
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

describe('runtime/validate.py', () => {
  it('accepts a sync handler and an async one, with their lines', async () => {
    const sync = await check({ 'main.py': 'import json\n\ndef handler(event, context):\n    return 1\n' }, 'main:handler');
    assert.deepEqual([sync.syntaxErrors, sync.problems], [[], []]);
    assert.deepEqual([sync.entrypoint.kind, sync.entrypoint.async, sync.entrypoint.line, sync.entrypoint.file], ['handler', false, 3, 'main.py']);
    const async = await check({ 'pkg/__init__.py': '', 'pkg/api.py': 'async def run(event, context=None):\n    return 1\n' }, 'pkg.api:run');
    assert.deepEqual([async.entrypoint.kind, async.entrypoint.async, async.entrypoint.file], ['handler', true, 'pkg/api.py']);
  });

  it('takes handler(event, context, client=None) as a handler, as Lambda calls it, not as a sync ASGI app (apps round 14)', async () => {
    for (const [def, isAsync] of [['def', false], ['async def', true]] as const) {
      const extra = await check({ 'main.py': `${def} handler(event, context, client=None, retries=3, *, log=True):\n    return 1\n` }, 'main:handler');
      assert.deepEqual([extra.problems, extra.entrypoint.kind, extra.entrypoint.async, extra.entrypoint.arity], [[], 'handler', isAsync, 4]);
    }
    // One required (the event), the rest with defaults, as the runtime takes it (oddfn round: "must be `async def`").
    const contextDefault = await check({ 'main.py': 'def handler(event, context=None, debug=False):\n    return 1\n' }, 'main:handler');
    assert.deepEqual([contextDefault.problems, contextDefault.entrypoint.kind], [[], 'handler']);
    const needsThird = await check({ 'main.py': 'def handler(event, context, client):\n    return 1\n' }, 'main:handler');
    assert.match(needsThird.problems[0]!.message, /async def/);
    const kwRequired = await check({ 'main.py': 'def handler(event, context, client=None, *, log):\n    return 1\n' }, 'main:handler');
    assert.equal(kwRequired.problems.length, 1);
  });

  it('refuses a handler that yields (every call would be 502 FUNCTION_BAD_RESPONSE), at the yield', async () => {
    for (const def of ['def', 'async def']) {
      const r = await check({ 'main.py': `import json\n\n${def} handler(event, context):\n    for i in range(3):\n        yield str(i)\n` }, 'main:handler');
      assert.equal(r.problems.length, 1, def);
      assert.deepEqual([r.problems[0]!.file, r.problems[0]!.line], ['main.py', 5]);
      assert.match(r.problems[0]!.message, /handler\(\) yields, .*not streamed.*StreamingResponse/);
    }
    // A yield in a function inside the handler, or in a lambda, makes no generator of the handler.
    const inner = await check({ 'main.py': 'def handler(event, context):\n    def gen():\n        yield 1\n    return list(gen())\n' }, 'main:handler');
    assert.deepEqual(inner.problems, []);
  });

  it('warns at a handler\'s `return body, 201` (Flask\'s), which answers 502 FUNCTION_BAD_RESPONSE, with the dict to return (oddfn round)', async () => {
    for (const def of ['def', 'async def']) {
      const r = await check({ 'main.py': `${def} handler(event, context):\n    if not event["body"]:\n        return {"error": "empty"}, 400\n    return {"ok": True}\n` }, 'main:handler');
      assert.deepEqual(r.problems, [], def);
      assert.equal(r.warnings.length, 1, JSON.stringify(r.warnings));
      assert.deepEqual([r.warnings[0]!.file, r.warnings[0]!.line], ['main.py', 3]);
      assert.match(r.warnings[0]!.message, /handler\(\) returns a tuple here, .*502 FUNCTION_BAD_RESPONSE.*\{"statusCode": 201, "body": body\}/);
    }
    // A tuple returned by a function inside the handler, or by a decorated handler (its decorator may make the response), is not one.
    for (const code of [
      'def handler(event, context):\n    def pair():\n        return 1, 2\n    return list(pair())\n',
      'import functools\n@functools.cache\ndef handler(event, context):\n    return "a", 200\n',
      'def handler(event, context):\n    return (1, 2, 3, 4)\n',
    ]) {
      assert.deepEqual((await check({ 'main.py': code }, 'main:handler')).warnings, [], code);
    }
  });

  it('warns at a handler\'s `return {"body": …}` of a response\'s keys without "statusCode": it is sent whole as JSON (new-user round 12)', async () => {
    const r = await check({ 'lambda_function.py': 'import json\n\ndef lambda_handler(event, context):\n    if event.get("x"):\n        return {"statusCode": 200, "body": "ok"}\n    return {"headers": {"Content-Type": "text/plain"}, "body": json.dumps({"a": 1})}\n' }, 'lambda_function:lambda_handler');
    assert.deepEqual(r.problems, []);
    assert.equal(r.warnings.length, 1, JSON.stringify(r.warnings));
    assert.deepEqual([r.warnings[0]!.file, r.warnings[0]!.line], ['lambda_function.py', 6]);
    assert.match(r.warnings[0]!.message, /lambda_handler\(\) returns a dict with "body" and no "statusCode" here, which is data, not a response: it is sent whole as JSON with 200.*add "statusCode": 200/);
    // Data with a key of its own, a dict built with **, a response with its status: no warning.
    for (const ret of ['{"body": "x", "subject": "hi"}', '{**base, "body": "x"}', '{"statusCode": 201, "body": "x"}', '{"headers": {}}']) {
      assert.deepEqual((await check({ 'main.py': `base = {}\n\ndef handler(event, context):\n    return ${ret}\n` }, 'main:handler')).warnings, [], ret);
    }
  });

  it('checks a module-level lambda as the function it is (it was "an object (an ASGI app such as FastAPI()…)"), a lambda of three left to the runtime (oddfn round)', async () => {
    const two = await check({ 'main.py': 'handler = lambda event, context: {"ok": True}\n' }, 'main:handler');
    assert.deepEqual([two.problems, two.entrypoint.kind, two.entrypoint.arity, two.entrypoint.line], [[], 'handler', 2, 1]);
    const one = await check({ 'main.py': 'import json\nhandler = lambda event: json.dumps(event)\n' }, 'main:handler');
    assert.equal(one.problems.length, 1);
    assert.deepEqual([one.problems[0]!.file, one.problems[0]!.line], ['main.py', 2]);
    assert.match(one.problems[0]!.message, /handler\(\) takes 1 positional parameter; write handler\(event, context\)/);
    const pair = await check({ 'main.py': 'handler = lambda event, context: ("made", 201)\n' }, 'main:handler');
    assert.match(pair.warnings[0]?.message ?? '', /returns a tuple here/);
    // An ASGI wrapper (its coroutine is awaited) is served by the runtime: no problem here.
    const asgi = await check({ 'main.py': 'async def inner(scope, receive, send):\n    pass\napp = lambda scope, receive, send: inner(scope, receive, send)\n' }, 'main:app');
    assert.deepEqual([asgi.problems, asgi.entrypoint.kind], [[], 'assignment']);
  });

  it('warns at a signal.alarm() guard its file never cancels (it goes off in a later call, or ends the instance between calls; oddfn round)', async () => {
    const guard = 'import signal, time\n\ndef on_alarm(signum, frame):\n    raise TimeoutError()\n\ndef handler(event, context):\n    signal.signal(signal.SIGALRM, on_alarm)\n    signal.alarm(5)\n';
    const r = await check({ 'main.py': `${guard}    return 1\n` }, 'main:handler');
    assert.equal(r.warnings.length, 1, JSON.stringify(r.warnings));
    assert.deepEqual([r.warnings[0]!.file, r.warnings[0]!.line], ['main.py', 8]);
    assert.match(r.warnings[0]!.message, /^signal\.alarm\(\) is never cancelled here \(signal\.alarm\(0\)\): .*later call.*cancel it in a `finally`/);
    const cancelled = await check({ 'main.py': `${guard}    try:\n        return 1\n    finally:\n        signal.alarm(0)\n` }, 'main:handler');
    assert.deepEqual(cancelled.warnings, []);
  });

  it('a local module whose file name is decomposed Unicode (NFD, from a Mac) is named so, not as a package to install', async () => {
    const nfd = 'donne\u0301es.py';
    const r = await check({ 'main.py': 'import données\n\ndef handler(event, context):\n    return données.X\n', [nfd]: 'X = 1\n' }, 'main:handler');
    assert.equal(r.warnings.length, 1, JSON.stringify(r.warnings));
    assert.deepEqual([r.warnings[0]!.file, r.warnings[0]!.line], ['main.py', 1]);
    assert.match(r.warnings[0]!.message, /imports 'données', but the folder's donne\u0301es\.py is named in decomposed Unicode \(NFD/);
    assert.doesNotMatch(r.warnings[0]!.message, /requirements\.txt/);
    const nfc = await check({ 'main.py': 'import données\n\ndef handler(event, context):\n    return 1\n', 'données.py': 'X = 1\n' }, 'main:handler');
    assert.deepEqual(nfc.warnings, []);
  });

  it('reports each syntax error with file and line, by the interpreter\'s own compiler', async () => {
    const r = await check({
      'main.py': 'def handler(event, context):\n    return 1\n',
      'lib/a.py': 'x = 1\ndef f(:\n    pass\n',
      'lib/b.py': 'if True:\n  x = 1\n    y = 2\n',
      'lib/c.py': 'return 5\n', // only the full compile, not the parser, refuses this
    }, 'main:handler');
    assert.deepEqual(r.syntaxErrors.map((e) => [e.file, e.line, e.type]), [
      ['lib/a.py', 2, 'SyntaxError'],
      ['lib/b.py', 3, 'IndentationError'],
      ['lib/c.py', 1, 'SyntaxError'],
    ]);
    assert.deepEqual(r.problems, []);
  });

  // new-user round 11: validate said "valid", and deploy's start check failed on the import.
  it('reports a relative import in a top-level entry module, and one above the top package; not one in a package nor under try', async () => {
    const top = await check({ 'main.py': 'from fastapi import FastAPI\nfrom .routers import items\napp = FastAPI()\n', 'routers/__init__.py': '', 'routers/items.py': '' }, 'main:app');
    assert.equal(top.problems.length, 1);
    assert.equal(top.problems[0]!.line, 2);
    assert.match(top.problems[0]!.message, /`from \.routers import items` is a relative import, but main\.py is imported as the top-level module 'main'.*no known parent package\): import it by its name \(`from routers import \.\.\.`.*entrypoint: app\.main:app/);
    const above = await check({ 'app/__init__.py': '', 'app/main.py': 'from ..config import x\napp = 1\n' }, 'app.main:app');
    assert.match(above.problems[0]!.message, /reaches 2 levels up from 'app\.main', above its top-level package/);
    const fine = await check({ 'app/__init__.py': 'from .main import app\n', 'app/main.py': 'from . import deps\nfrom .deps import x\napp = 1\n', 'app/deps.py': 'x = 1\n' }, 'app.main:app');
    assert.deepEqual(fine.problems, []);
    const pkgInit = await check({ 'app/__init__.py': 'from .main import app\n', 'app/main.py': 'app = 1\n' }, 'app:app');
    assert.deepEqual(pkgInit.problems, []);
    const fallback = await check({ 'main.py': 'try:\n    from .routers import items\nexcept ImportError:\n    from routers import items\napp = 1\n', 'routers/__init__.py': '', 'routers/items.py': '' }, 'main:app');
    assert.deepEqual(fallback.problems, []);
  });

  it("names the parent folder to deploy when the function's folder is itself a package (cd app && init .)", async () => {
    const parent = mkdtempSync(join(tmpdir(), 'fp-cli-py-'));
    const dir = join(parent, 'app');
    mkdirSync(dir);
    for (const [f, t] of Object.entries({ '__init__.py': '', 'main.py': 'from .deps import x\napp = 1\n', 'deps.py': 'x = 1\n' })) writeFileSync(join(dir, f), t);
    try {
      const r = await runPythonPreflight(PYTHON, dir, 'main:app', ['__init__.py', 'main.py', 'deps.py']);
      assert.match(r.problems[0]!.message, /deploy the folder above: this folder has __init__\.py, so it is the package 'app'; platform\.yaml goes in its parent folder with entrypoint: app\.main:app$/);
    } finally {
      rmSync(parent, { recursive: true, force: true });
    }
  });

  // new-user round 11: deploy's banner names the page that lists a FastAPI app's routes (cli/deploy-flow.ts docsLine).
  it("reports a FastAPI app's docs path: /docs, its docs_url, none when off or not an app", async () => {
    const docs = async (source: string): Promise<string | undefined> => (await check({ 'main.py': source }, 'main:app')).entrypoint.docs;
    assert.equal(await docs('from fastapi import FastAPI\napp = FastAPI(title="x")\n'), '/docs');
    assert.equal(await docs('import fastapi\napp: fastapi.FastAPI = fastapi.FastAPI(docs_url="/api/docs")\n'), '/api/docs');
    assert.equal(await docs('from fastapi import FastAPI\napp = FastAPI(docs_url=None)\n'), undefined);
    assert.equal(await docs('from fastapi import FastAPI\napp = FastAPI(openapi_url=None)\n'), undefined);
    assert.equal(await docs('from starlette.applications import Starlette\napp = Starlette()\n'), undefined);
  });

  it('reports a missing module, a missing attribute and a syntax error in the entry module', async () => {
    const missingModule = await check({ 'app.py': 'x = 1\n' }, 'main:handler');
    assert.match(missingModule.problems[0]!.message, /module 'main' not found/);
    // A mistyped module names the folder's module meant, as a mistyped handler does (journey round 11).
    const typo = await check({ 'main.py': 'def handler(event, context):\n    pass\n', 'test_main.py': '' }, 'mian:handler');
    assert.match(typo.problems[0]!.message, /module 'mian' not found; expected mian\.py or mian\/__init__\.py; did you mean 'main' \(main\.py\)\? entrypoint: main:handler$/);
    const pkg = await check({ 'shop/__init__.py': '', 'shop/api.py': 'app = 1\n' }, 'shop.apl:create()');
    assert.match(pkg.problems[0]!.message, /did you mean 'shop\.api' \(shop\/api\.py\)\? entrypoint: shop\.api:create\(\)$/);
    assert.doesNotMatch(missingModule.problems[0]!.message, /did you mean/);
    // Lambda code with no entrypoint in platform.yaml (the default main:handler): the folder's handler, and event: lambda (new-user round 12).
    const lambda = await check({ 'lambda_function.py': 'import json\n\n\ndef lambda_handler(event, context):\n    return {"statusCode": 200}\n', 'util.py': 'def handle(event, context):\n    pass\n' }, 'main:handler');
    assert.match(lambda.problems[0]!.message, /^entrypoint main:handler \(the default when platform\.yaml names no entrypoint\): module 'main' not found; expected main\.py or main\/__init__\.py; the folder's handler is 'lambda_handler' \(lambda_function\.py:4\): entrypoint: lambda_function:lambda_handler, with event: lambda for Lambda's event \(body a str\)$/);
    assert.match((await check({ 'fn.py': 'def handler(event, context):\n    pass\n' }, 'main:handler')).problems[0]!.message, /; the folder's handler is 'handler' \(fn\.py:1\): entrypoint: fn:handler$/);
    const missingAttr = await check({ 'main.py': 'def other(event, context):\n    pass\n\ndef _inner():\n    handler = 1\n' }, 'main:handler');
    assert.match(missingAttr.problems[0]!.message, /defines no 'handler' at module level/);
    const broken = await check({ 'main.py': 'def handler(event, context)\n    pass\n' }, 'main:handler');
    assert.equal(broken.syntaxErrors[0]!.line, 1);
    // One problem for one typo: the entrypoint is not reported again as "cannot check" (it was: "2 problems found").
    assert.equal(broken.syntaxErrors.length, 1);
    assert.deepEqual(broken.problems, []);
  });

  it('refuses the wrong number of positional parameters, and a sync 3-parameter function', async () => {
    const one = await check({ 'main.py': 'def handler(event):\n    pass\n' }, 'main:handler');
    assert.deepEqual([one.problems.length, one.problems[0]!.line, one.entrypoint.arity], [1, 1, 1]);
    assert.match(one.problems[0]!.message, /OpenFaaS's handle\(req\) becomes handle\(event, context\), with event\.text\(\) as req/);
    const none = await check({ 'main.py': 'def main():\n    pass\n' }, 'main:main');
    assert.match(none.problems[0]!.message, /takes 0 positional parameters.*if it builds your app \(an app factory\), write entrypoint: main:main\(\); Fission's main\(\) becomes handler\(event, context\)/);
    const kwOnly = await check({ 'main.py': 'def handler(event, *, context):\n    pass\n' }, 'main:handler');
    assert.equal(kwOnly.entrypoint.arity, 1);
    assert.equal(kwOnly.problems.length, 1);
    const syncAsgi = await check({ 'main.py': 'def app(scope, receive, send):\n    pass\n' }, 'main:app');
    assert.match(syncAsgi.problems[0]!.message, /async def/);
  });

  it('takes an app factory (module:factory()) called with no arguments: not one with required parameters, nor an async def', async () => {
    const source = 'from flask import Flask\n\ndef create_app(config=None):\n    return Flask(__name__)\n\ndef needs(config):\n    pass\n\nasync def later():\n    pass\n';
    const ok = await check({ 'app.py': source }, 'app:create_app()');
    assert.deepEqual([ok.entrypoint.kind, ok.entrypoint.attr, ok.entrypoint.line, ok.problems], ['factory', 'create_app', 3, []]);
    const needs = await check({ 'app.py': source }, 'app:needs()');
    assert.deepEqual([needs.problems.length, needs.problems[0]!.line], [1, 6]);
    assert.match(needs.problems[0]!.message, /needs\(\) is called with no arguments to build the app; it takes 1 required parameter$/);
    const later = await check({ 'app.py': source }, 'app:later()');
    assert.match(later.problems[0]!.message, /an async def returns a coroutine, not an app/);
    const missing = await check({ 'app.py': source }, 'app:create()');
    assert.match(missing.problems[0]!.message, /defines no 'create' at module level; did you mean 'create_app' \(app\.py:3\)\? entrypoint: app:create_app\(\)$/);
  });

  it('detects an ASGI app: an assignment such as app = FastAPI(), or an async (scope, receive, send) function; a WSGI function', async () => {
    const fastapi = await check({ 'app.py': 'from fastapi import FastAPI\n\napp = FastAPI()\n\n@app.get("/")\ndef index():\n    return {}\n' }, 'app:app');
    assert.deepEqual([fastapi.entrypoint.kind, fastapi.entrypoint.line, fastapi.problems], ['assignment', 3, []]);
    const raw = await check({ 'asgi.py': 'async def app(scope, receive, send):\n    pass\n' }, 'asgi:app');
    assert.deepEqual([raw.entrypoint.kind, raw.problems], ['asgi', []]);
    // A WSGI function (environ, start_response) is served as a WSGI app, and may be a generator (docs/adr/0077-wsgi-apps.md).
    const wsgi = await check({ 'main.py': 'def app(environ, start_response):\n    start_response("200 OK", [])\n    yield b"hi"\n' }, 'main:app');
    assert.deepEqual([wsgi.entrypoint.kind, wsgi.problems], ['wsgi', []]);
    // `environ` first names one too, whatever its second is called; a handler's names do not.
    const environ = await check({ 'main.py': 'def app(environ, respond):\n    respond("200 OK", [])\n    return [b"hi"]\n' }, 'main:app');
    assert.equal(environ.entrypoint.kind, 'wsgi');
    const handler = await check({ 'main.py': 'def handler(env, ctx):\n    return 1\n' }, 'main:handler');
    assert.equal(handler.entrypoint.kind, 'handler');
    const conditional = await check({ 'main.py': 'import os\nif os.environ.get("X"):\n    def handler(e, c):\n        return 1\nelse:\n    handler = None\n' }, 'main:handler');
    assert.deepEqual([conditional.entrypoint.kind, conditional.problems], ['assignment', []]);
  });

  it('never runs user code', async () => {
    const marker = join(tmpdir(), `fp-cli-marker-${process.pid}-${Date.now()}`);
    const code = `open(${JSON.stringify(marker)}, "w").write("ran")\n\ndef handler(event, context):\n    return 1\n`;
    const r = await check({ 'main.py': code }, 'main:handler');
    assert.equal(r.entrypoint.kind, 'handler');
    assert.equal(existsSync(marker), false);
  });

  it('warns about WebSocket endpoints (a connection ends at limits.timeout), not about HTTP ones', async () => {
    const r = await check({
      'main.py': 'from fastapi import FastAPI, WebSocket\napp = FastAPI()\n@app.get("/")\ndef root():\n    return 1\n@app.websocket("/ws")\nasync def ws(sock: WebSocket):\n    await sock.accept()\n',
      'routes.py': 'from starlette.routing import WebSocketRoute\nroutes = [WebSocketRoute("/live", None)]\n',
    }, 'main:app');
    assert.deepEqual(untriggered(r).map((w) => [w.file, w.line]).sort(), [['main.py', 6], ['routes.py', 2]]);
    assert.match(untriggered(r)[0]!.message, /a WebSocket connection is one call: it holds an instance's slot and is closed \(1001\) at limits.timeout/);
    assert.deepEqual(untriggered(r).map((w) => w.needs), ['long-timeout', 'long-timeout']);
    assert.deepEqual(r.problems, []);
  });

  it('drops the WebSocket warning under a timeout of 5 minutes or more (deploy and validate read the manifest)', async () => {
    const dir = (limits: string): string => folder({
      'main.py': 'from fastapi import FastAPI, WebSocket\napp = FastAPI()\n@app.websocket("/ws")\nasync def ws(sock: WebSocket):\n    await sock.accept()\n',
      'platform.yaml': `kind: function\nname: live\nentrypoint: main:app\n${limits}`,
    });
    for (const [limits, count] of [['', 1], ['limits:\n  timeout: 4m\n', 1], ['limits:\n  timeout: 5m\n', 0], ['limits:\n  timeout: 1h\n', 0]] as const) {
      const d = dir(limits);
      try {
        const found = await preflight(d, PYTHON, {});
        assert.equal(found.warnings.length, count, `${limits}: ${found.warnings.map((w) => w.message).join('\n')}`);
      } finally {
        rmSync(d, { recursive: true, force: true });
      }
    }
  });

  it('warns about Server-Sent Events streams (cut at limits.timeout), dropped under a timeout of 5 minutes or more (apps round 11)', async () => {
    const files = {
      'main.py': 'from fastapi import FastAPI\nfrom fastapi.responses import StreamingResponse\nfrom sse_starlette.sse import EventSourceResponse\napp = FastAPI()\n'
        + '@app.get("/feed")\nasync def feed():\n    return StreamingResponse(gen(), media_type="text/event-stream")\n'
        + '@app.get("/live")\nasync def live():\n    return EventSourceResponse(gen())\n'
        + '@app.get("/csv")\ndef csv():\n    return StreamingResponse(gen(), media_type="text/csv")\n',
      'requirements.txt': 'sse-starlette\n',
    };
    const r = await check(files, 'main:app');
    assert.deepEqual(untriggered(r).map((w) => [w.file, w.line, w.needs]), [['main.py', 7, 'long-timeout'], ['main.py', 10, 'long-timeout']]);
    assert.match(untriggered(r)[0]!.message, /a Server-Sent Events stream is one call: .* cut at limits.timeout, 30 s by default/);
    for (const [limits, count, told] of [['', 2, /this function's limits\.timeout is 30 s$/], ['limits:\n  timeout: 90s\n', 2, /this function's limits\.timeout is 90 s$/], ['limits:\n  timeout: 5m\n', 0, null]] as const) {
      const d = folder({ ...files, 'platform.yaml': `kind: function\nname: feed\nentrypoint: main:app\n${limits}` });
      try {
        const { warnings } = await preflight(d, PYTHON, {});
        assert.equal(warnings.length, count, limits);
        // The function's own timeout is told beside the default (apps round 12).
        if (told !== null) assert.match(warnings[0]!.message, told);
      } finally {
        rmSync(d, { recursive: true, force: true });
      }
    }
  });

  /** The warnings `validate` gives an app `main:app` of `code` with `requirements` and `limits` (platform.yaml lines); no problems. */
  async function appWarnings(code: string, requirements: string, name: string, limits: string): Promise<string[]> {
    const dir = folder({ 'main.py': code, 'requirements.txt': requirements, 'platform.yaml': `kind: function\nname: ${name}\nentrypoint: main:app\n${limits}` });
    try {
      const found = await preflight(dir, PYTHON, {});
      assert.deepEqual(found.problems, []);
      return found.warnings.map((w) => `${w.file}:${w.line}: ${w.message}`);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }

  // Socket.IO sessions start on long-polling, and a session lives in one process: at concurrency 1
  // a message sent while a poll was open reached another instance and answered 400 Invalid session
  // (apps round 6). Not when the limits keep one instance.
  it('warns about a Socket.IO app unless its limits keep one instance taking concurrent calls', async () => {
    const app = 'import socketio\nfrom fastapi import FastAPI\nsio = socketio.AsyncServer(async_mode="asgi")\napp = socketio.ASGIApp(sio, other_asgi_app=FastAPI())\n';
    const warned = (limits: string): Promise<string[]> => appWarnings(app, 'python-socketio\n', 'sio', limits);
    const by = await warned('');
    assert.equal(by.length, 1, by.join('\n'));
    assert.match(by[0]!, /^main\.py:4: ASGIApp\(\.\.\.\): a Socket\.IO session starts on HTTP long-polling .* limits\.concurrency above 1 and limits\.maxInstances: 1/);
    assert.deepEqual(await warned('limits:\n  concurrency: 50\n  maxInstances: 1\n'), []);
    assert.equal((await warned('limits:\n  concurrency: 50\n')).length, 1, 'several instances: sessions still split');
    // Flask-SocketIO wraps the Flask app the same way.
    const flask = await check({ 'app.py': 'from flask import Flask\nfrom flask_socketio import SocketIO\napp = Flask(__name__)\nsocketio = SocketIO(app)\n' }, 'app:app');
    assert.deepEqual(flask.warnings.filter((w) => w.needs === 'one-instance').map((w) => [w.file, w.line]), [['app.py', 4]]);
  });

  // FastAPI's WebSockets page's chat (ConnectionManager.broadcast): at concurrency 1 each connection
  // holds an instance of its own, so three clients of one room each heard only themselves (apps
  // rounds 10 and 17; under uvicorn each heard all three). Not for a send loop over one socket's
  // messages (a Redis pub/sub relay), nor in a file without a WebSocket route.
  it('warns about a broadcast to the WebSockets the process holds unless its limits keep one instance', async () => {
    const chat = [
      'from fastapi import FastAPI, WebSocket',
      'app = FastAPI()',
      'class ConnectionManager:',
      '    def __init__(self):',
      '        self.active_connections: list[WebSocket] = []',
      '    async def broadcast(self, message: str):',
      '        for connection in self.active_connections:',
      '            await connection.send_text(message)',
      'manager = ConnectionManager()',
      '@app.websocket("/ws")',
      'async def ws(websocket: WebSocket):',
      '    await websocket.accept()',
      '    await manager.broadcast(await websocket.receive_text())',
      '',
    ].join('\n');
    const warned = async (code: string, limits: string): Promise<string[]> =>
      (await appWarnings(code, 'fastapi\n', 'chat', `limits:\n  timeout: 5m\n${limits}`)).filter((w) => /broadcast/.test(w));
    const by = await warned(chat, '');
    assert.equal(by.length, 1, by.join('\n'));
    assert.match(by[0]!, /^main\.py:7: a message sent to every WebSocket in a collection \(a broadcast\) .* limits\.maxInstances: 1, or broadcast through a service/);
    assert.deepEqual(await warned(chat, '  concurrency: 50\n  maxInstances: 1\n'), []);
    const gathered = chat.replace('        for connection in self.active_connections:\n            await connection.send_text(message)',
      '        await asyncio.gather(*(c.send_json({"m": message}) for c in self.active_connections))');
    assert.deepEqual((await warned(gathered, '')).map((w) => w.split(':')[1]), ['7'], 'a comprehension of sends');
    const relay = chat.replace('        for connection in self.active_connections:\n            await connection.send_text(message)',
      '        async for msg in self.pubsub.listen():\n            await self.websocket.send_text(msg)');
    assert.deepEqual(await warned(relay, ''), [], 'one socket fed from a loop is no broadcast');
    assert.deepEqual(await warned(chat.replace('@app.websocket("/ws")', '@app.get("/ws")'), ''), [], 'no WebSocket route');
    // Quart's chat tutorial: a Broker keeping an asyncio.Queue per connection (apps round 23), and a
    // loop of `send` (Quart's websocket, flask-sock, the websockets library).
    const quart = [
      'import asyncio',
      'from quart import Quart, websocket',
      'app = Quart(__name__)',
      'class Broker:',
      '    def __init__(self):',
      '        self.connections = set()',
      '    async def publish(self, message):',
      '        for connection in self.connections:',
      '            await connection.put(message)',
      'broker = Broker()',
      '@app.websocket("/ws")',
      'async def ws():',
      '    await broker.publish(await websocket.receive())',
      '',
    ].join('\n');
    const queued = (await appWarnings(quart, 'quart\n', 'chat', 'limits:\n  timeout: 5m\n')).filter((w) => /a broadcast/.test(w));
    assert.deepEqual(queued.map((w) => w.split(':')[1]), ['8'], 'queues of a WebSocket broadcast');
    const sent = quart.replace('await connection.put(message)', 'await connection.send(message)');
    assert.deepEqual((await appWarnings(sent, 'quart\n', 'chat', 'limits:\n  timeout: 5m\n')).filter((w) => /a broadcast/.test(w)).map((w) => w.split(':')[1]), ['8'], 'a loop of send');
  });

  // An SSE notifications endpoint keeping one asyncio.Queue per subscriber (apps round 23): each stream
  // holds its instance, so 6 subscribers were spread over instances and 3 notifications POSTed reached
  // 2 of them (uvicorn: 6 of 6); with concurrency 50 and maxInstances 1, 6 of 6. Not for a loop that
  // feeds one queue, nor in a file without a stream or a socket.
  it("warns about a notification put in every SSE subscriber's queue unless its limits keep one instance (apps round 23)", async () => {
    const app = [
      'import asyncio',
      'from fastapi import FastAPI',
      'from sse_starlette.sse import EventSourceResponse',
      'app = FastAPI()',
      'subscribers: set[asyncio.Queue] = set()',
      '@app.post("/notify")',
      'async def notify(message: str):',
      '    for queue in subscribers:',
      '        queue.put_nowait(message)',
      '@app.get("/events")',
      'async def events():',
      '    queue = asyncio.Queue()',
      '    subscribers.add(queue)',
      '    async def stream():',
      '        while True:',
      '            yield await queue.get()',
      '    return EventSourceResponse(stream())',
      '',
    ].join('\n');
    const warned = async (code: string, limits: string): Promise<string[]> =>
      (await appWarnings(code, 'fastapi\nsse-starlette\n', 'notify', `limits:\n  timeout: 5m\n${limits}`)).filter((w) => /subscriber's queue/.test(w));
    const by = await warned(app, '');
    assert.equal(by.length, 1, by.join('\n'));
    assert.match(by[0]!, /^main\.py:8: a message put in every subscriber's queue \(a broadcast\): it reaches the streams .* reaches only those on that call's instance .* publish through a service such as Redis pub\/sub, or set limits\.concurrency above 1 and limits\.maxInstances: 1 \(until a stream reaches limits\.timeout/);
    assert.deepEqual(await warned(app, '  concurrency: 50\n  maxInstances: 1\n'), []);
    const awaited = app.replace('    for queue in subscribers:\n        queue.put_nowait(message)', '    await asyncio.gather(*(q.put(message) for q in subscribers))');
    assert.deepEqual((await warned(awaited, '')).map((w) => w.split(':')[1]), ['8'], 'a comprehension of puts');
    const plain = app.replace('EventSourceResponse(stream())', 'StreamingResponse(stream(), media_type="text/event-stream")');
    assert.deepEqual((await warned(plain, '')).map((w) => w.split(':')[1]), ['8'], 'a StreamingResponse of text/event-stream');
    const one = app.replace('    for queue in subscribers:\n        queue.put_nowait(message)', '    for word in message.split():\n        JOBS.put_nowait(word)');
    assert.deepEqual(await warned(one, ''), [], 'one queue fed from a loop is no broadcast');
    assert.deepEqual(await warned(app.replace('return EventSourceResponse(stream())', 'return [x async for x in stream()]'), ''), [], 'no stream');
    // A condition every stream waits on, notified by the publishing call: the waiters of one instance.
    const cond = app.replace('    for queue in subscribers:\n        queue.put_nowait(message)', '    async with changed:\n        changed.notify_all()');
    const woken = (await appWarnings(cond, 'fastapi\nsse-starlette\n', 'notify', 'limits:\n  timeout: 5m\n')).filter((w) => /notify_all/.test(w));
    assert.deepEqual(woken.map((w) => w.split(':').slice(1, 3).join(':')), ['9: notify_all() wakes the waiters of this instance (a broadcast)']);
    // An event every stream awaits (`await changed.wait()`), set by the publishing call (loose4):
    // asyncio's, threading's, one an object holds; not a set() of anything else.
    const set = (publish: string, made = 'changed = asyncio.Event()'): string =>
      app.replace('    for queue in subscribers:\n        queue.put_nowait(message)', publish).replace('subscribers: set[asyncio.Queue] = set()', made);
    const fired = async (code: string): Promise<string[]> =>
      (await appWarnings(code, 'fastapi\nsse-starlette\n', 'notify', 'limits:\n  timeout: 5m\n')).filter((w) => /a broadcast/.test(w)).map((w) => w.split(':').slice(1, 3).join(':'));
    assert.deepEqual(await fired(set('    changed.set()\n    changed.clear()')), ["8: an event's set() wakes the waiters of this instance (a broadcast)"]);
    assert.deepEqual(await fired(set('    hub.changed.set()', 'import threading\nclass Hub:\n    def __init__(self):\n        self.changed = threading.Event()\nhub = Hub()')),
      ["12: an event's set() wakes the waiters of this instance (a broadcast)"], "an object's threading.Event");
    assert.deepEqual(await fired(set('    seen.set()', 'seen = contextvars.ContextVar("seen")')), [], 'a set() of no Event (no argument: not a ContextVar.set either)');
    assert.deepEqual((await appWarnings(set('    changed.set()'), 'fastapi\nsse-starlette\n', 'notify', 'limits:\n  timeout: 5m\n  concurrency: 50\n  maxInstances: 1\n'))
      .filter((w) => /a broadcast/.test(w)), [], 'one instance takes the calls');
  });

  // A webhook trigger calls the app at POST <its path>, default / (gateway/hooks.ts): a GitHub-style
  // FastAPI receiver at `@app.post("/webhooks/github")` answered every verified delivery 404 and its
  // runs failed (apps round 20). Warned only for a webhook trigger whose path the app has no POST at.
  it("warns about a FastAPI app with no POST route at a webhook trigger's path (apps round 20)", async () => {
    const app = (routes: string): string => `from fastapi import FastAPI, APIRouter, Request\napp = FastAPI()\n${routes}`;
    const receiver = '@app.post("/webhooks/github")\nasync def github(request: Request):\n    return {}\n';
    const hook = 'triggers:\n  - type: webhook\n    id: github\n';
    const warned = async (code: string, manifest: string): Promise<string[]> =>
      (await appWarnings(code, 'fastapi\n', 'hookapp', manifest)).filter((w) => /webhook trigger .*calls the app/.test(w));
    const by = await warned(app(receiver), hook);
    assert.equal(by.length, 1, by.join('\n'));
    assert.match(by[0]!, /^main\.py:3: webhook trigger "github" calls the app at POST \/, and this app takes POST at \/webhooks\/github but not at \/: every verified delivery would answer 404 .*`path: \/webhooks\/github` under it in platform\.yaml/);
    // The trigger's path (docs/triggers.md) says where it calls: at the receiver's, nothing to warn about.
    assert.deepEqual(await warned(app(receiver), `${hook}    path: /webhooks/github\n`), [], 'the trigger calls the receiver');
    const elsewhere = await warned(app(receiver), `${hook}    path: /webhooks/github/\n  - type: webhook\n    id: stripe\n    path: /webhooks/github\n`);
    assert.equal(elsewhere.length, 1, elsewhere.join('\n'));
    assert.match(elsewhere[0]!, /webhook trigger "github" calls the app at POST \/webhooks\/github\/, and this app takes POST at \/webhooks\/github but not at \/webhooks\/github\/:/);
    assert.deepEqual(await warned(app(receiver), ''), [], 'no webhook trigger');
    assert.deepEqual(await warned(app(receiver), 'triggers:\n  - type: cron\n    schedule: "*/5 * * * *"\n'), [], 'a cron trigger only');
    assert.deepEqual(await warned(app(`${receiver}app.add_api_route("/", github, methods=["POST"])\n`), hook), [], 'served at / too');
    assert.deepEqual(await warned(app('@app.api_route("/", methods=["GET", "POST"])\nasync def root():\n    return {}\n@app.post("/x")\nasync def x():\n    return {}\n'), hook), []);
    assert.deepEqual(await warned(app(`${receiver}r = APIRouter()\napp.include_router(r)\n`), hook), [], 'a router: its paths are not known');
    assert.match((await warned(app('@app.get("/items")\nasync def items():\n    return []\n'), hook)).join('\n'), /^main\.py:3: webhook trigger "github" calls the app at POST \/, and this app takes POST at no path: every verified delivery would answer 404 or 405 .*Serve the receiver at POST \//, 'no POST route');
  });

  // A cron trigger's tick is a run of POST / too: Vercel's crons call `GET /api/cron`, and a FastAPI app
  // ported with its cron path as a cron trigger answered every tick 404, each run failed (apps round 21).
  it('warns about a FastAPI app with no route at a cron trigger\'s method and path (apps round 21)', async () => {
    const app = (routes: string): string => `from fastapi import FastAPI, APIRouter\napp = FastAPI()\n${routes}`;
    const vercel = '@app.get("/health")\ndef health():\n    return {}\n@app.get("/api/cron")\ndef cron():\n    return {"ok": True}\n';
    const cron = 'triggers:\n  - type: cron\n    schedule: "0 5 * * *"\n';
    const warned = async (code: string, manifest: string): Promise<string[]> =>
      (await appWarnings(code, 'fastapi\n', 'cronapp', manifest)).filter((w) => /cron trigger .*calls the app/.test(w));
    const by = await warned(app(vercel), cron);
    assert.equal(by.length, 1, by.join('\n'));
    assert.match(by[0]!, /^main\.py:6: cron trigger "cron-0" calls the app at POST \/ \(each tick is a run of it\), and this app has no such route \(its routes: GET \/health, GET \/api\/cron\): every tick would answer 404 or 405 .*`method: GET` and `path: \/api\/cron` under it in platform\.yaml/);
    // The trigger's method and path (ADR 0175) say where the tick calls: at the route, nothing to warn about.
    assert.deepEqual(await warned(app(vercel), `${cron}    method: GET\n    path: /api/cron\n`), [], 'the trigger calls the route');
    assert.deepEqual(await warned(app(vercel), ''), [], 'no cron trigger');
    assert.deepEqual(await warned(app(vercel), 'triggers:\n  - type: webhook\n    id: github\n'), [], 'a webhook trigger only');
    // Each trigger without a route is told, the webhook beside the cron one.
    const both = (await appWarnings(app(`${vercel}@app.post("/webhooks/github")\ndef gh():\n    return {}\n`), 'fastapi\n', 'cronapp', `${cron}  - type: webhook\n    id: github\n`)).filter((w) => /trigger "/.test(w));
    assert.deepEqual(both.map((w) => /^main\.py:\d+: (\w+) trigger "([\w-]+)"/.exec(w)?.slice(1, 3).join(' ')), ['cron cron-0', 'webhook github'], both.join('\n'));
    assert.deepEqual(await warned(app(`${vercel}app.add_api_route("/", cron, methods=["POST"])\n`), cron), [], 'served at POST / too');
    assert.deepEqual(await warned(app(`${vercel}r = APIRouter()\napp.include_router(r)\n`), cron), [], 'a router: its paths are not known');
  });

  // encode/broadcast's README chat on Broadcast("memory://") (apps round 19): at concurrency 1 each of
  // 3 clients heard only itself and a message published over HTTP reached none (uvicorn: 4 of 4
  // each; concurrency 20 with maxInstances 1: 4 of 4). Not its Redis backend, nor memory:// as an
  // environment lookup's default (the function's env may name another backend).
  it('warns about broadcaster\'s memory backend unless its limits keep one instance (apps round 19)', async () => {
    const app = (url: string): string => `import os\nfrom broadcaster import Broadcast\nfrom fastapi import FastAPI\nbroadcast = Broadcast(${url})\napp = FastAPI()\n`;
    const warned = async (url: string, limits: string): Promise<string[]> =>
      (await appWarnings(app(url), 'fastapi\nbroadcaster\n', 'bcast', limits)).filter((w) => /broadcaster/.test(w));
    const by = await warned('"memory://"', '');
    assert.equal(by.length, 1, by.join('\n'));
    assert.match(by[0]!, /^main\.py:4: Broadcast\("memory:\/\/"\): broadcaster's memory backend .* each client hears only itself: set limits\.concurrency above 1 and limits\.maxInstances: 1, or use its redis:\/\//);
    assert.equal((await warned('url="memory://"', '')).length, 1, 'its url= keyword');
    assert.deepEqual(await warned('"memory://"', 'limits:\n  concurrency: 20\n  maxInstances: 1\n'), []);
    assert.deepEqual(await warned('"redis://localhost:6379"', ''), []);
    assert.deepEqual(await warned('os.environ.get("BROADCAST_URL", "memory://")', ''), []);
    const other = await check({ 'main.py': 'class Broadcast:\n    pass\nb = Broadcast("memory://")\n' }, '');
    assert.deepEqual(other.warnings.filter((w) => /broadcaster/.test(w.message)), [], 'a class of that name elsewhere');
  });

  // A session key made at import is each instance's own (apps round 19): FastHTML's tutorial app
  // (fast_app() without secret_key writes a random .sesskey in the working directory, a dotfile
  // deploy never uploads) kept its session in 2 of 6 concurrent calls (uvicorn: 6 of 6). The same
  // for secret_key=secrets.token_hex() and Flask's app.secret_key = os.urandom(24).
  it('warns about a session key made at import (each instance signs with its own), and FastHTML without secret_key (apps round 19)', async () => {
    const lines = async (files: Record<string, string>): Promise<string[]> =>
      (await check(files, '')).warnings.filter((w) => /makes a key of its own/.test(w.message)).map((w) => `${w.file}:${w.line}`);
    const fh = 'from fasthtml.common import *\napp, rt = fast_app()\n';
    assert.deepEqual(await lines({ 'main.py': fh }), ['main.py:2']);
    const [w] = (await check({ 'main.py': fh }, '')).warnings.filter((x) => /sesskey/.test(x.message));
    assert.match(w!.message, /^fast_app\(\.\.\.\) without secret_key: FastHTML signs sessions with the key in \.sesskey, .* env set SESSION_SECRET=\.\.\. --secret/);
    assert.equal(w!.needs, undefined, 'one instance loses its key at the idle timeout too');
    assert.deepEqual(await lines({ 'main.py': fh.replace('fast_app()', 'fast_app(secret_key=os.environ["SESSION_SECRET"])') }), []);
    assert.deepEqual(await lines({ 'main.py': fh, '.sesskey': 'k' }), [], 'a key file uploaded (.platformignore !.sesskey)');
    assert.deepEqual(await lines({ 'main.py': 'from fasthtml import FastHTML\napp = FastHTML(key_fname="keys/s.key")\n', 'keys/s.key': 'k' }), []);
    assert.deepEqual(await lines({ 'main.py': 'from fasthtml import FastHTML\napp = FastHTML(secret_key=None)\n' }), ['main.py:2']);
    const star = 'import os, secrets\nfrom starlette.applications import Starlette\nfrom starlette.middleware import Middleware\nfrom starlette.middleware.sessions import SessionMiddleware\n';
    assert.deepEqual(await lines({ 'app.py': `${star}app = Starlette(middleware=[Middleware(SessionMiddleware, secret_key=secrets.token_hex(32))])\n` }), ['app.py:5']);
    assert.deepEqual(await lines({ 'app.py': `${star}KEY = secrets.token_urlsafe()\napp = Starlette(middleware=[Middleware(SessionMiddleware, secret_key=KEY)])\n` }), ['app.py:6'], 'through a module-level name');
    assert.deepEqual(await lines({ 'app.py': `${star}app = Starlette(middleware=[Middleware(SessionMiddleware, secret_key=os.environ.get("K", secrets.token_hex()))])\n` }), ['app.py:5'], 'a default of an env lookup (apps round 23)');
    assert.deepEqual(await lines({ 'app.py': `${star}app = Starlette(middleware=[Middleware(SessionMiddleware, secret_key="fixed")])\n` }), []);
    const flask = 'import os, uuid\nfrom flask import Flask\napp = Flask(__name__)\n';
    assert.deepEqual(await lines({ 'app.py': `${flask}app.secret_key = os.urandom(24)\n` }), ['app.py:4']);
    assert.deepEqual(await lines({ 'app.py': `${flask}app.config["SECRET_KEY"] = str(uuid.uuid4())\n` }), ['app.py:4']);
    assert.deepEqual(await lines({ 'app.py': `${flask}app.secret_key = os.environ["SECRET_KEY"]\n` }), []);
    // An env lookup's random fallback is each instance's own wherever the env does not set the variable
    // (apps round 23, as a settings default in round 22): `needs: env`, dropped where the env sets it.
    const fallback = (await check({ 'app.py': `${flask}app.secret_key = os.getenv("SECRET_KEY") or os.urandom(24)\n` }, '')).warnings
      .filter((x) => /makes a key of its own/.test(x.message));
    assert.deepEqual(fallback.map((x) => `${x.file}:${x.line}:${x.needs}:${x.env}`), ['app.py:4:env:SECRET_KEY'], 'a fallback of an env lookup');
    assert.match(fallback[0]!.message, /^a secret key made at import: SECRET_KEY's default is a key made at import, and the function's env does not set SECRET_KEY: each instance .* env set <name> SECRET_KEY=\.\.\. --secret/);
    assert.deepEqual(await lines({ 'app.py': `${flask}app.secret_key = os.getenv("SECRET_KEY", "dev")\n` }), [], 'a fixed fallback');
    assert.deepEqual(await lines({ 'tests/conftest.py': 'import os\nSECRET_KEY = os.urandom(8)\n' }), [], 'a test file');
  });

  // FastAPI's full-stack template (apps round 22): `SECRET_KEY: str = secrets.token_urlsafe(32)` in its
  // pydantic-settings class, the value given by a .env one folder up (not the deployed folder). Each
  // instance signed its JWTs with a key of its own: 3 of 8 concurrent `/users/me` calls answered 403
  // "Could not validate credentials" (uvicorn 8 of 8). An annotated field in a class body: round 19's
  // check read plain `SECRET_KEY = …` assignments only.
  it("warns about a pydantic-settings key whose default is made at import, unless the env sets it (apps round 22)", async () => {
    const settings = (body: string, config = ''): Record<string, string> => ({
      'app/__init__.py': '', 'app/core/__init__.py': '',
      'app/core/config.py': `import secrets, uuid\nfrom pydantic import Field\nfrom pydantic_settings import BaseSettings, SettingsConfigDict\n\nclass Settings(BaseSettings):\n${config}${body}\nsettings = Settings()\n`,
    });
    const found = async (files: Record<string, string>): Promise<string[]> =>
      (await check(files, '')).warnings.filter((w) => w.needs === 'env').map((w) => `${w.file}:${w.line}:${w.env}`);
    assert.deepEqual(await found(settings('    API_V1_STR: str = "/api/v1"\n    SECRET_KEY: str = secrets.token_urlsafe(32)\n')), ['app/core/config.py:7:SECRET_KEY']);
    const [w] = (await check(settings('    SECRET_KEY: str = secrets.token_urlsafe(32)\n'), '')).warnings.filter((x) => x.needs === 'env');
    assert.match(w!.message, /^SECRET_KEY's default is a key made at import, .* a token or session cookie one instance signed is refused by the next .* env set <name> SECRET_KEY=\.\.\. --secret/);
    assert.deepEqual(await found(settings('    jwt_secret: str = Field(default_factory=lambda: uuid.uuid4().hex)\n', '    model_config = SettingsConfigDict(env_prefix="shop_")\n')),
      ['app/core/config.py:7:SHOP_JWT_SECRET'], 'a default_factory, a prefix, the name as the environment spells it');
    assert.deepEqual(await found(settings('    SECRET_KEY: str = "changethis"\n')), [], 'a fixed default');
    assert.deepEqual(await found(settings('    SECRET_KEY: str\n')), [], 'no default');
    assert.deepEqual(await found(settings('    request_id: str = secrets.token_hex(8)\n')), [], 'not a secret');
    assert.deepEqual(await found({ 'app.py': 'import secrets\nclass Settings:\n    SECRET_KEY: str = secrets.token_hex()\n' }), [], 'not a settings class');
    // validate drops it where platform.yaml's env sets the variable (in any case); deploy holds it until
    // it knows the function's env and secrets (cli/commands/deploy.ts sayHeldEnv).
    for (const [env, count] of [['', 1], ['env:\n  OTHER: "x"\n', 1], ['env:\n  SECRET_KEY: "${KEY}"\n', 0], ['env:\n  secret_key: "k"\n', 0]] as const) {
      const d = folder({ ...settings('    SECRET_KEY: str = secrets.token_urlsafe(32)\n'), 'platform.yaml': `kind: function\nname: full\nentrypoint: app.core.config:settings\n${env}` });
      try {
        const checked = await preflight(d, PYTHON, { KEY: 'k' });
        assert.equal(checked.warnings.filter((x) => /SECRET_KEY's default/.test(x.message)).length, count, env);
        const held = await preflight(d, PYTHON, { KEY: 'k' }, { holdImports: true });
        assert.deepEqual([held.warnings.filter((x) => /SECRET_KEY's default/.test(x.message)).length, held.heldEnv.map((x) => x.env)], [0, count ? ['SECRET_KEY'] : []], `deploy: ${env}`);
      } finally {
        rmSync(d, { recursive: true, force: true });
      }
    }
  });

  // OpenTelemetry's getting-started tracing (apps round 19): BatchSpanProcessor's thread printed the
  // console exporter's spans after each call ended, so none reached the function's logs (all went to
  // the platform's), and the processor's thread at import kept the version from a template.
  it("warns about OpenTelemetry's console exporter behind a BatchSpanProcessor, not a SimpleSpanProcessor or an OTLP exporter (apps round 19)", async () => {
    const app = (processor: string, exporter: string): string => ['from opentelemetry import trace',
      'from opentelemetry.sdk.trace import TracerProvider',
      'from opentelemetry.sdk.trace.export import BatchSpanProcessor, ConsoleSpanExporter, SimpleSpanProcessor',
      'provider = TracerProvider()', `provider.add_span_processor(${processor}(${exporter}()))`, ''].join('\n');
    const lines = async (code: string): Promise<string[]> =>
      (await check({ 'main.py': code }, '')).warnings.filter((w) => /ConsoleSpanExporter/.test(w.message)).map((w) => `${w.line}: ${w.message}`);
    const by = await lines(app('BatchSpanProcessor', 'ConsoleSpanExporter'));
    assert.equal(by.length, 1, by.join('\n'));
    assert.match(by[0]!, /^5: BatchSpanProcessor\(ConsoleSpanExporter\(\)\): its thread prints each span after the call ended, .* use SimpleSpanProcessor/);
    assert.deepEqual(await lines(app('SimpleSpanProcessor', 'ConsoleSpanExporter')), []);
    assert.deepEqual(await lines(app('BatchSpanProcessor', 'OTLPSpanExporter')), []);
  });

  // Zero-code instrumentation started from the module (the platform runs no `opentelemetry-instrument`
  // command): with OTEL_TRACES_EXPORTER=console, 0 span lines in `logs`, 3 in the platform's log, and
  // no template ("1 thread(s) at import"; apps round 24).
  it("warns about OpenTelemetry's initialize() at import, not about another initialize()", async () => {
    const warned = async (code: string): Promise<string[]> =>
      (await check({ 'main.py': code }, '')).warnings.filter((w) => /zero-code instrumentation/.test(w.message)).map((w) => `${w.line}: ${w.message}`);
    const by = await warned('from opentelemetry.instrumentation.auto_instrumentation import initialize\n\ninitialize()\n');
    assert.equal(by.length, 1, by.join('\n'));
    assert.match(by[0]!, /^3: OpenTelemetry's initialize\(\) .* no template .* SimpleSpanProcessor\(ConsoleSpanExporter\(\)\)/);
    assert.deepEqual(await warned('import opentelemetry\ndef initialize():\n    pass\ninitialize()\n'), []);
  });

  // Django Channels (apps round 18): the tutorial's chat on InMemoryChannelLayer deployed without a
  // word; at concurrency 1 each of 3 clients heard only itself, and a group_send from a view reached
  // none (uvicorn: 4 of 4 each; concurrency 20 with maxInstances 1: 4 of 4). Its consumers are
  // WebSocket endpoints that validate did not see either (no timeout warning).
  it('warns about Django Channels: its WebSocket consumers end at the timeout, and its in-memory layer unless one instance', async () => {
    const app = [
      'from channels.generic.websocket import AsyncWebsocketConsumer',
      'from channels.routing import ProtocolTypeRouter, URLRouter',
      'CHANNEL_LAYERS = {"default": {"BACKEND": "channels.layers.InMemoryChannelLayer"}}',
      'class Chat(AsyncWebsocketConsumer):',
      '    async def receive(self, text_data):',
      '        await self.channel_layer.group_send("room", {"type": "chat.message", "message": text_data})',
      'app = ProtocolTypeRouter({"websocket": URLRouter([])})',
      '',
    ].join('\n');
    const warned = (code: string, limits: string): Promise<string[]> => appWarnings(code, 'channels\n', 'chan', limits);
    const by = await warned(app, '');
    assert.equal(by.length, 2, by.join('\n'));
    assert.match(by[0]!, /^main\.py:4: class Chat\(AsyncWebsocketConsumer\): a Channels consumer: a WebSocket connection is one call: .* closed \(1001\) at limits\.timeout/);
    assert.match(by[1]!, /^main\.py:3: channels\.layers\.InMemoryChannelLayer: .* each client hears only itself: set limits\.concurrency above 1 and limits\.maxInstances: 1, or use channels_redis/);
    assert.deepEqual(await warned(app, 'limits:\n  timeout: 10m\n  concurrency: 20\n  maxInstances: 1\n'), []);
    const redis = await warned(app.replace('channels.layers.InMemoryChannelLayer', 'channels_redis.core.RedisChannelLayer'), 'limits:\n  timeout: 10m\n');
    assert.deepEqual(redis, [], 'the Redis layer reaches every instance');
    const settings = await check({ 'proj/settings.py': 'CHANNEL_LAYERS = {\n    "default": {\n        "BACKEND": "channels.layers.InMemoryChannelLayer",\n    },\n}\n', 'main.py': 'app = None\n' }, 'main:app');
    assert.deepEqual(settings.warnings.filter((w) => /InMemoryChannelLayer/.test(w.message)).map((w) => [w.file, w.line, w.needs ?? null]), [['proj/settings.py', 3, 'one-instance']]);
    // Channels' docs give the in-memory layer to tests: test settings are not what serves.
    const layer = 'CHANNEL_LAYERS = {"default": {"BACKEND": "channels.layers.InMemoryChannelLayer"}}\n';
    const tests = await check({ 'tests/settings.py': layer, 'proj/test_settings.py': layer, 'proj/settings_test.py': layer, 'conftest.py': layer, 'latest.py': layer, 'main.py': 'app = None\n' }, 'main:app');
    assert.deepEqual(tests.warnings.filter((w) => /InMemoryChannelLayer/.test(w.message)).map((w) => w.file), ['latest.py']);
    const other = await check({ 'main.py': 'class WebsocketConsumer: pass\nclass Mine(WebsocketConsumer): pass\napp = None\n' }, 'main:app');
    assert.deepEqual(other.warnings.filter((w) => /Channels/.test(w.message)), [], 'a class of that name in a file that imports no channels');
  });

  // An MCP server over HTTP (apps round 16): the SDK's default session lives in the instance that
  // answered `initialize` and its client keeps a GET stream open there, so at concurrency 1 the next
  // call met another instance: 404 "Session not found". Its DNS-rebinding protection (default
  // host 127.0.0.1) answered 421 at the function's own host.
  it('warns about a stateful MCP server (and Gradio, NiceGUI, Shiny apps and Litestar memory channels) unless stateless or one instance, and about the MCP Host check', async () => {
    const app = (args: string, extra = ''): string =>
      `from fastapi import FastAPI\nfrom mcp.server.mcpserver import MCPServer\n${extra}mcp = MCPServer("p")\napp = FastAPI()\napp.mount("/mcp", mcp.streamable_http_app(${args}))\n`;
    const warned = (code: string, limits: string): Promise<string[]> => appWarnings(code, 'fastapi\nmcp\n', 'mcp', limits);
    const both = await warned(app(''), '');
    assert.equal(both.length, 2, both.join('\n'));
    assert.match(both[0]!, /^main\.py:5: streamable_http_app\(\.\.\.\): an MCP session lives in the instance .* 404 "Session not found": pass stateless_http=True/);
    assert.match(both[1]!, /^main\.py:5: streamable_http_app\(\.\.\.\): the MCP SDK's DNS-rebinding protection .* 421 Invalid Host header/);
    const one = 'limits:\n  concurrency: 20\n  maxInstances: 1\n';
    assert.deepEqual((await warned(app(''), one)).map((w) => /Session not found/.test(w)), [false]);
    assert.deepEqual((await warned(app('stateless_http=True, json_response=True'), '')).map((w) => /Session not found/.test(w)), [false]);
    const guarded = app('transport_security=TransportSecuritySettings(allowed_hosts=["mcp.localhost:*"])', 'from mcp.server.transport_security import TransportSecuritySettings\n');
    assert.deepEqual((await warned(guarded, one)), []);
    // The SSE transport's session is always one process's; FastMCP (the standalone package) has no Host check.
    const sse = await check({ 'main.py': 'from fastmcp import FastMCP\nmcp = FastMCP("p", stateless_http=True)\napp = mcp.http_app()\nold = mcp.sse_app()\n' }, 'main:app');
    assert.deepEqual(sse.warnings.filter((w) => /MCP/.test(w.message)).map((w) => [w.line, w.needs ?? null]), [[4, 'one-instance']]);
    // fastapi-mcp's sessions are always stateful (no stateless mode), and it has no Host check.
    const fmcp = await check({ 'main.py': 'from fastapi import FastAPI\nfrom fastapi_mcp import FastApiMCP\napp = FastAPI()\nFastApiMCP(app).mount_http()\n' }, 'main:app');
    const fw = fmcp.warnings.filter((w) => /MCP/.test(w.message));
    assert.deepEqual(fw.map((w) => [w.line, w.needs ?? null]), [[4, 'one-instance']]);
    assert.match(fw[0]!.message, /404 "Session not found": set limits\.concurrency above 1/);
    // Gradio mounted in FastAPI: its queue answers on the stream of the instance that took the job.
    const grad = await check({ 'main.py': 'import gradio as gr\nfrom fastapi import FastAPI\ndemo = gr.Interface(fn=str, inputs="text", outputs="text")\napp = gr.mount_gradio_app(FastAPI(), demo, path="/ui")\n' }, 'main:app');
    assert.deepEqual(grad.warnings.filter((w) => /Gradio/.test(w.message)).map((w) => [w.line, w.needs ?? null]), [[4, 'one-instance']]);
    // NiceGUI's ui.run_with(app): a page's state lives in the instance that served it.
    const nice = await check({ 'main.py': 'from fastapi import FastAPI\nfrom nicegui import ui\napp = FastAPI()\nui.run_with(app)\n' }, 'main:app');
    assert.deepEqual(nice.warnings.filter((w) => /NiceGUI/.test(w.message)).map((w) => [w.line, w.needs ?? null]), [[4, 'one-instance']]);
    // Shiny's App(ui, server): uploads and downloads are HTTP requests to the WebSocket's instance.
    const shiny = await check({ 'main.py': 'from shiny import App, ui\napp = App(ui.page_fluid(), None)\n' }, 'main:app');
    assert.deepEqual(shiny.warnings.filter((w) => /Shiny/.test(w.message)).map((w) => [w.line, w.needs ?? null]), [[2, 'one-instance']]);
    // Litestar's channels on the memory backend: a message published over HTTP reached none of 3
    // WebSocket subscribers at the default limits (apps round 17; uvicorn: 3 of 3).
    const chan = await check({ 'app.py': 'from litestar import Litestar\nfrom litestar.channels import ChannelsPlugin\nfrom litestar.channels.backends.memory import MemoryChannelsBackend\napp = Litestar(plugins=[ChannelsPlugin(backend=MemoryChannelsBackend(), channels=["a"])])\n' }, 'app:app');
    assert.deepEqual(chan.warnings.filter((w) => /channels backend/.test(w.message)).map((w) => [w.line, w.needs ?? null]), [[4, 'one-instance']]);
    // Not an MCP server: a module of the same method name in an app that imports no mcp.
    const other = await check({ 'main.py': 'import starlette\nclass S:\n    def http_app(self): return 1\napp = S().http_app()\n' }, 'main:app');
    assert.deepEqual(other.warnings.filter((w) => /MCP/.test(w.message)), []);
  });

  it('warns about a SQLite database shipped with the code (deployed files are read-only: every write fails), by its header, not its name (apps round 11)', async () => {
    const report = await check({
      'main.py': 'from fastapi import FastAPI\napp = FastAPI()\n',
      'data/catalog.db': 'SQLite format 3\u0000' + 'x'.repeat(84),
      'seed.sqlite': 'not a database\n',
      'notes.txt': 'SQLite format 3',
    }, 'main:app');
    const found = report.warnings.filter((w) => /read-only/.test(w.message));
    assert.deepEqual(found.map((w) => w.file), ['data/catalog.db']);
    assert.match(found[0]!.message, /attempt to write a readonly database.*add its name to \.platformignore.*shutil\.copy\) to \/tmp/);
  });

  // FastAPI's SQL tutorial (SQLModel, `sqlite:///database.db`, tables made in the lifespan), apps round 20:
  // the file is written in each instance's own layer over the working directory, so a hero one call
  // created was in 12 of 24 concurrent reads (uvicorn: 24 of 24) and in none after a redeploy.
  it('warns about a SQLite database the app makes in the working directory (each instance writes its own), not under /tmp (apps round 20)', async () => {
    const lines = async (files: Record<string, string>): Promise<string[]> =>
      (await check(files, '')).warnings.filter((w) => /SQLite database the app writes/.test(w.message)).map((w) => `${w.file}:${w.line}`);
    const tutorial = 'from sqlmodel import SQLModel, create_engine\nsqlite_file_name = "database.db"\nsqlite_url = f"sqlite:///{sqlite_file_name}"\nengine = create_engine(sqlite_url)\n';
    assert.deepEqual(await lines({ 'main.py': tutorial }), ['main.py:3']);
    const [w] = (await check({ 'main.py': tutorial }, '')).warnings.filter((x) => /SQLite database the app writes/.test(x.message));
    assert.match(w!.message, /no other instance, cold start or deploy sees.*under uvicorn the file stays.*env set DATABASE_URL=\.\.\. --secret.*under \/tmp/);
    assert.equal(w!.needs, undefined, 'one instance loses it at the idle timeout too');
    const db = (line: string): Record<string, string> => ({ 'app/db.py': `import os, sqlite3, aiosqlite\nfrom sqlalchemy import create_engine\n${line}\n` });
    assert.deepEqual(await lines(db('e = create_engine("sqlite+aiosqlite:///./data/app.db")')), ['app/db.py:3']);
    assert.deepEqual(await lines(db('c = sqlite3.connect("app.db", check_same_thread=False)')), ['app/db.py:3']);
    assert.deepEqual(await lines(db('c = aiosqlite.connect(f"{NAME}.db")')), [], 'a path that does not start with text');
    for (const spared of ['e = create_engine("sqlite:////tmp/app.db")', 'c = sqlite3.connect("/tmp/app.db")', 'e = create_engine("sqlite:///:memory:")',
      'c = sqlite3.connect(":memory:")', 'e = create_engine("sqlite://")', 'URL = os.getenv("DATABASE_URL", "sqlite:////tmp/app.db")',
      'URL = cfg.get("database_url", "sqlite:///app.db")', '"""Set DATABASE_URL, e.g. sqlite:///app.db."""',
      'c = sqlite3.connect("catalog.db")', 'e = create_engine("postgresql://db/app")']) {
      assert.deepEqual(await lines({ ...db(spared), 'catalog.db': 'SQLite format 3\u0000' }), [], spared);
    }
    assert.deepEqual(await lines({ 'tests/test_api.py': 'from sqlalchemy import create_engine\ne = create_engine("sqlite:///test.db")\n' }), [], 'a test file');
  });

  // An app moved from its own MongoDB or Atlas (apps round 25): `MongoClient("mongodb://localhost:27017")`
  // or an env lookup's default: on the platform no server is on localhost, pymongo waited its 30 s
  // server selection and a 10 s function ended FUNCTION_TIMEOUT naming nothing; the binding's URI is FP_MONGO_URI.
  it('warns about a MongoDB URL written in the code, or an env lookup\'s default (needs: env), naming FP_MONGO_URI (apps round 25)', async () => {
    const found = async (line: string): Promise<string[]> =>
      (await check({ 'app/db.py': `import os\nfrom pymongo import MongoClient\n${line}\n` }, '')).warnings
        .filter((w) => /MongoDB URL/.test(w.message)).map((w) => `${w.file}:${w.line}:${w.needs ?? ''}:${w.env ?? ''}`);
    assert.deepEqual(await found('client = MongoClient("mongodb://localhost:27017")'), ['app/db.py:3::']);
    assert.deepEqual(await found('client = MongoClient("mongodb+srv://u:p@cluster0.example.mongodb.net/shop?retryWrites=true")'), ['app/db.py:3::']);
    assert.deepEqual(await found('URI = os.environ.get("MONGODB_URI", "mongodb://localhost:27017/shop")'), ['app/db.py:3:env:MONGODB_URI']);
    for (const spared of ['client = MongoClient(os.environ["FP_MONGO_URI"])', 'u = f"mongodb://{host}:27017/db"', '"""Set MONGODB_URI, e.g. mongodb://localhost."""',
      'u = cfg.get("mongo", "mongodb://localhost")', 'u = "postgresql://db/app"']) {
      assert.deepEqual(await found(spared), [], spared);
    }
    assert.deepEqual((await check({ 'tests/test_db.py': 'from pymongo import MongoClient\nc = MongoClient("mongodb://localhost")\n' }, '')).warnings
      .filter((w) => /MongoDB URL/.test(w.message)), [], 'a test file');
    const [w] = (await check({ 'main.py': 'from pymongo import MongoClient\nc = MongoClient("mongodb://localhost:27017")\n' }, '')).warnings;
    assert.match(w!.message, /^a MongoDB URL written in the code: .*data\.mongo in platform\.yaml.*os\.environ\["FP_MONGO_URI"\].*times out/);
  });

  // FerretDB 1.24 (a data binding's server) hands every accumulator of a `$group` after the first an
  // exhausted cursor: `{"total": {"$sum": "$price"}, "n": {"$sum": 1}}` gave `n: 0`, no error (apps
  // round 25). Said where the stage is written.
  it('warns about a $group with more than one accumulator, which a data binding answers 0 for all but the first', async () => {
    const found = async (line: string): Promise<string[]> =>
      (await check({ 'app/report.py': `from pymongo import MongoClient
${line}
` }, '')).warnings
        .filter((w) => /\$group with/.test(w.message)).map((w) => `${w.file}:${w.line}`);
    assert.deepEqual(await found('P = [{"$match": {}}, {"$group": {"_id": "$cat", "total": {"$sum": "$price"}, "n": {"$sum": 1}}}]'), ['app/report.py:2']);
    assert.deepEqual(await found('P = [\n    {"$group": {\n        "_id": None,\n        "lo": {"$min": "$p"},\n        "hi": {"$max": "$p"},\n    }},\n]'), ['app/report.py:3']);
    for (const spared of ['P = [{"$group": {"_id": "$cat", "n": {"$sum": 1}}}]', 'P = [{"$group": {"_id": "$cat"}}]', 'G = {"group": {"a": 1, "b": 2}}']) {
      assert.deepEqual(await found(spared), [], spared);
    }
    assert.deepEqual((await check({ 'tests/test_report.py': 'P = {"$group": {"_id": 1, "a": {"$sum": 1}, "b": {"$sum": 1}}}\n' }, '')).warnings
      .filter((w) => /\$group with/.test(w.message)), [], 'a test file');
    const [w] = (await check({ 'main.py': 'P = {"$group": {"_id": "$c", "total": {"$sum": "$p"}, "n": {"$sum": 1}}}\n' }, '')).warnings;
    assert.match(w!.message, /^a \$group with 2 accumulators \(total, n\): on a data binding \(FerretDB 1\.24\) every accumulator after the first comes back 0 with no error, so the platform refuses the pipeline \(DATA_PIPELINE_UNSUPPORTED\); .*data-binding\.md/);
  });

  // An async SQLAlchemy app as the tutorials write it (apps round 23): `DATABASE_URL =
  // os.environ.get("DATABASE_URL", "sqlite+aiosqlite:///./todos.db")`, deployed without the variable:
  // a todo one call created was in 4 of 8 concurrent reads (uvicorn: 8 of 8), and validate said
  // nothing (an env lookup's default was spared: the env may name a server). Warned with the
  // variable's name, dropped where platform.yaml's env sets it, and held by deploy until it knows the
  // function's env and secrets; a pydantic-settings field's default the same way.
  it("warns about a SQLite database that is an env lookup's or a settings field's default, unless the env sets the variable (apps round 23)", async () => {
    const found = async (line: string): Promise<string[]> =>
      (await check({ 'app/db.py': `import os\nfrom sqlalchemy import create_engine\n${line}\n` }, '')).warnings
        .filter((w) => /SQLite database the app writes/.test(w.message)).map((w) => `${w.file}:${w.line}:${w.needs}:${w.env}`);
    assert.deepEqual(await found('URL = os.environ.get("DATABASE_URL", "sqlite+aiosqlite:///./todos.db")'), ['app/db.py:3:env:DATABASE_URL']);
    assert.deepEqual(await found('URL = os.getenv("DATABASE_URL") or "sqlite:///app.db"'), ['app/db.py:3:env:DATABASE_URL']);
    assert.deepEqual(await found('e = create_engine(os.getenv("DB_URL", "sqlite:///./data/app.db"), echo=True)'), ['app/db.py:3:env:DB_URL']);
    assert.deepEqual(await found('from starlette.config import Config\nconfig = Config()\nURL = config("DATABASE_URL", default="sqlite:///./app.db")'), ['app/db.py:5:env:DATABASE_URL']);
    assert.deepEqual(await found('from pydantic_settings import BaseSettings, SettingsConfigDict\nclass Settings(BaseSettings):\n    model_config = SettingsConfigDict(env_prefix="shop_")\n    database_url: str = "sqlite:///./shop.db"'),
      ['app/db.py:6:env:SHOP_DATABASE_URL'], 'a settings field: the prefix, the name as the environment spells it');
    assert.deepEqual(await found('URL = os.environ.get("DATABASE_URL", "sqlite:////tmp/todos.db")'), [], 'scratch');
    assert.deepEqual(await found('URL = os.environ.get(NAME, "sqlite:///./todos.db")'), [], 'no variable named');
    const [w] = (await check({ 'main.py': 'import os\nURL = os.getenv("DATABASE_URL", "sqlite:///./app.db")\n' }, '')).warnings;
    assert.match(w!.message, /^DATABASE_URL's default is a SQLite database the app writes in the working directory, and the function's env does not set DATABASE_URL: .* env set <name> DATABASE_URL=\.\.\. --secret.*under \/tmp/);
    // os.getenv's names are case-sensitive (Linux): `database_url` does not set DATABASE_URL (loose4).
    for (const [env, count] of [['', 1], ['env:\n  OTHER: "x"\n', 1], ['env:\n  DATABASE_URL: "${DB}"\n', 0], ['env:\n  database_url: "${DB}"\n', 1]] as const) {
      const d = folder({ 'main.py': 'import os\nfrom fastapi import FastAPI\nURL = os.getenv("DATABASE_URL", "sqlite:///./app.db")\napp = FastAPI()\n',
        'requirements.txt': 'fastapi\n', 'platform.yaml': `kind: function\nname: todos\nentrypoint: main:app\n${env}` });
      try {
        const checked = await preflight(d, PYTHON, { DB: 'postgresql://db/app' });
        assert.equal(checked.warnings.filter((x) => /DATABASE_URL's default/.test(x.message)).length, count, env);
        const held = await preflight(d, PYTHON, { DB: 'postgresql://db/app' }, { holdImports: true });
        assert.deepEqual([held.warnings.filter((x) => /DATABASE_URL's default/.test(x.message)).length, held.heldEnv.map((x) => x.env)], [0, count ? ['DATABASE_URL'] : []], `deploy: ${env}`);
      } finally {
        rmSync(d, { recursive: true, force: true });
      }
    }
  });

  it("counts what a declared requirement's extras bring: fastapi[standard] brings uvicorn (and its httptools), pydantic[email] email_validator (apps round 11)", async () => {
    const code = 'import uvicorn, httptools, email_validator, greenlet\nfrom fastapi import FastAPI\napp = FastAPI()\n';
    const warned = async (requirements: string): Promise<string[]> => (await check({ 'main.py': code, 'requirements.txt': requirements }, 'main:app'))
      .warnings.map((w) => /imports '(\w+)'/.exec(w.message)?.[1] ?? '').filter((m) => m !== '').sort();
    assert.deepEqual(await warned('fastapi[standard]==0.165.0\nsqlalchemy[asyncio]\n'), []);
    assert.deepEqual(await warned('fastapi\npydantic[email]\nsqlalchemy\n'), ['greenlet', 'httptools', 'uvicorn']);
    assert.deepEqual(await warned('uvicorn[standard]\n'), ['email_validator', 'greenlet']);
  });

  it('does not count imports under if __name__ == "__main__" (never run when the platform imports the module) (apps round 11)', async () => {
    const report = await check({
      'main.py': 'import httpx\nfrom fastapi import FastAPI\napp = FastAPI()\nif __name__ == "__main__":\n    import uvicorn\n    uvicorn.run(app)\nif "__main__" == __name__:\n    from gunicorn import app as g\ndef f():\n    if __name__ == "__main__":\n        import yaml\n',
      'requirements.txt': 'fastapi\n',
    }, 'main:app');
    assert.deepEqual(report.warnings.map((w) => /imports '(\w+)'/.exec(w.message)?.[1]).sort(), ['httpx', 'yaml']);
  });

  it("warns that pydantic's EmailStr needs email-validator when nothing declares it; pydantic[email] does (apps round 11)", async () => {
    const code = 'from fastapi import FastAPI\nfrom pydantic import BaseModel, EmailStr\nclass U(BaseModel):\n    email: EmailStr\napp = FastAPI()\n';
    const bare = await check({ 'main.py': code }, 'main:app');
    assert.equal(bare.warnings.length, 1, JSON.stringify(bare.warnings));
    assert.match(bare.warnings[0]!.message, /uses pydantic's EmailStr or NameEmail, which needs 'email_validator'.*add 'email-validator' to requirements\.txt/);
    assert.deepEqual((await check({ 'main.py': code, 'requirements.txt': 'pydantic[email]\n' }, 'main:app')).warnings, []);
  });

  it('a pyproject.toml nested too deeply for tomllib is a dependencies problem, not a crash of the check (apps round 11)', async () => {
    const report = await check({ 'main.py': 'x = 1\n', 'pyproject.toml': `a = ${'['.repeat(30_000)}\n` }, '');
    assert.deepEqual(report.dependencies?.problems, [{ file: 'pyproject.toml', line: null, message: 'not valid TOML: nested too deeply' }]);
  });

  it('a module deeper than a warning walk may recurse, or than the compiler takes, is checked, not a crash of the check (red team round 47)', async () => {
    // 900 `+`: compiles and runs on the runtime; the session-key walk recursed past Python's limit and
    // validate.py crashed (the CLI refused to deploy it: PYTHON_PREFLIGHT_FAILED; the API: 503).
    const chain = `import os\nx = ${Array(900).fill('os.environ.get("A", "")').join(' + ')}\n`;
    const deep = await check({ 'main.py': `${chain}def handler(event, context):\n    return 1\n` }, 'main:handler');
    assert.deepEqual(deep.syntaxErrors, []);
    assert.equal(deep.entrypoint.kind, 'handler');
    assert.match(deep.warnings.at(-1)!.message, /checks for warnings were skipped: an expression is nested too deeply/);
    // 20 000 `+`: past the compiler (the runtime's import fails so too): that file's problem, the others checked.
    const deeper = await check({ 'main.py': 'def handler(event, context):\n    return 1\n', 'gen.py': `x = ${Array(20_000).fill('a').join('+')}\n` }, 'main:handler');
    assert.deepEqual(deeper.syntaxErrors.map((e) => [e.file, e.type, e.message]), [['gen.py', 'RecursionError', "nested too deeply for Python's compiler: the runtime cannot import it either"]]);
    assert.equal(deeper.entrypoint.kind, 'handler');
  });

  it("warns when the project declares a Python the runtime's is not: requires-python, Poetry's python, .python-version, runtime.txt (apps round 11)", async () => {
    const [major, minor] = execFileSync(PYTHON, ['-c', 'import sys; print(*sys.version_info[:2])'], { encoding: 'utf8' }).trim().split(' ').map(Number) as [number, number];
    const app = { 'main.py': 'from fastapi import FastAPI\napp = FastAPI()\n' };
    const warned = async (files: Record<string, string>): Promise<string[]> => (await check({ ...app, ...files }, 'main:app'))
      .warnings.filter((w) => /the platform runs functions on Python/.test(w.message)).map((w) => `${w.file}: ${w.message.split(',')[0]}`);
    const newer = `${major}.${minor + 1}`;
    assert.deepEqual(await warned({ 'pyproject.toml': `[project]\nname = "x"\nversion = "0"\nrequires-python = ">=${newer}"\ndependencies = []\n`, '.python-version': `${newer}\n` }),
      [`pyproject.toml: requires-python is '>=${newer}'`, `.python-version: it names Python ${newer}`]);
    assert.deepEqual(await warned({ 'pyproject.toml': `[tool.poetry.dependencies]\npython = "^${newer}"\n`, 'runtime.txt': `python-${newer}.1\n` }),
      [`pyproject.toml: [tool.poetry.dependencies] python is '^${newer}'`, `runtime.txt: it names Python python-${newer}.1`]);
    assert.deepEqual(await warned({ 'pyproject.toml': `[project]\nrequires-python = ">=${major}.${minor}"\n[tool.poetry.dependencies]\npython = "^${major}.${minor}"\n`, '.python-version': `${major}.${minor}.2\n` }), []);
  });

  it('warns about imports the runtime cannot find, but not optional or local ones', async () => {
    const r = await check({
      'main.py': 'import helpers\nimport surely_not_installed_pkg\ntry:\n    import also_missing\nexcept ImportError:\n    pass\nimport json, fastapi\n\ndef handler(e, c):\n    pass\n',
      'helpers.py': '',
    }, 'main:handler');
    assert.deepEqual(r.warnings.map((w) => [w.file, w.line]), [['main.py', 2]]);
    assert.deepEqual(r.problems, []);
  });

  it('resolves the imports the entrypoint reaches against the declared requirements (issue 10)', async () => {
    const files = {
      'main.py': 'from lib import util\nimport PIL\n\ndef handler(e, c):\n    pass\n',
      'lib/__init__.py': '',
      'lib/util.py': 'from . import deeper\nimport undeclared_pkg_x\n',
      'lib/deeper.py': 'import bs4\nimport yaml\n',
      'scripts/tool.py': 'import never_reached_pkg\n',
    };
    // Nothing declared: what the runtime lacks, reached from main.py only, is a warning.
    const bare = await check(files, 'main:handler');
    const missing = (r: PyReport): string[] => r.warnings.map((w) => `${w.file}:${w.line}`).sort();
    assert.deepEqual(missing(bare), ['lib/deeper.py:1', 'lib/deeper.py:2', 'lib/util.py:2', 'main.py:2']);
    assert.match(bare.warnings.find((w) => w.file === 'main.py')!.message, /imports 'PIL', a third-party module .* no declared requirement names: add 'pillow' to requirements\.txt$/);
    // A module of no known distribution: no name guessed from it (a guess can be another project on PyPI).
    assert.match(bare.warnings.find((w) => w.file === 'lib/util.py')!.message, /imports 'undeclared_pkg_x', .*: add the package that provides it to requirements\.txt$/);
    // A folder that declares its packages in pyproject.toml alone is told to add there (new-user round 10: it was told requirements.txt).
    const pyproject = await check({ ...files, 'pyproject.toml': '[project]\nname = "x"\ndependencies = ["beautifulsoup4"]\n' }, 'main:handler');
    assert.match(pyproject.warnings.find((w) => w.file === 'main.py')!.message, /: add 'pillow' to pyproject\.toml's dependencies \(checked against the declared names only/);
    // Declared by distribution name (Pillow provides PIL, beautifulsoup4 provides bs4).
    const declared = await check({ ...files, 'requirements.txt': `Pillow>=10  # images\nundeclared-pkg-x==1.0 --hash=sha256:${'0'.repeat(64)}\nPyYAML\n`, 'pyproject.toml': '[project]\nname = "x"\ndependencies = ["beautifulsoup4"]\n' }, 'main:handler');
    assert.deepEqual(missing(declared), []);
    // A distribution not installed here, named `python-<module>` (python-slugify provides slugify): no warning.
    const prefixed = await check({ 'main.py': 'import slugify\nimport magic\n\ndef handler(e, c):\n    pass\n', 'requirements.txt': 'python-slugify==8.0.4\npython-magic\n' }, 'main:handler');
    assert.deepEqual(missing(prefixed), []);
    // Named by its first word (strawberry-graphql provides strawberry, flask-sqlalchemy brings flask), extras and all.
    const worded = await check({ 'main.py': 'import strawberry\nimport flask\nimport sqlalchemy\n\ndef handler(e, c):\n    pass\n', 'requirements.txt': 'strawberry-graphql[fastapi]==0.240.0\nflask-sqlalchemy\n' }, 'main:handler');
    // sqlalchemy comes with flask-sqlalchemy, which cannot be told without installing it: said, as a maybe.
    assert.deepEqual(missing(worded), ['main.py:3']);
    assert.match(worded.warnings[0]!.message, /checked against the declared names only, before their own dependencies are resolved: if one of them brings it, nothing is missing; deploy checks again against what its build installs\)$/);
    assert.deepEqual(declared.dependencies?.declared.map((d) => [d.name, d.file, d.line]), [['pillow', 'requirements.txt', 1], ['undeclared-pkg-x', 'requirements.txt', 2], ['pyyaml', 'requirements.txt', 3], ['beautifulsoup4', 'pyproject.toml', null]]);
    // Django packages whose module is neither their name nor its first word (apps round 6: `import ninja` with django-ninja declared was warned about).
    const django = await check({ 'main.py': 'import ninja\nimport rest_framework\nimport corsheaders\nimport django_filters\nimport debug_toolbar\n\ndef handler(e, c):\n    pass\n', 'requirements.txt': 'django-ninja\ndjangorestframework\ndjango-cors-headers\ndjango-filter\ndjango-debug-toolbar\n' }, 'main:handler');
    assert.deepEqual(missing(django), []);
    // A version number ending the name (apps round 12: fastapi-cache2 provides fastapi_cache, and was warned
    // about as "no declared requirement names"), gRPC's grpcio → grpc, and any other such name by the guess.
    const numbered = await check({ 'main.py': 'from fastapi_cache import FastAPICache\nimport grpc\nimport tinylib\n\ndef handler(e, c):\n    pass\n', 'requirements.txt': 'fastapi-cache2==0.2.2\ngrpcio\ntinylib3\n' }, 'main:handler');
    assert.deepEqual(missing(numbered), []);
    // A requirement the platform refuses is a problem, with its line.
    const bad = await check({ ...files, 'requirements.txt': 'Pillow\n-e git+https://example.com/x.git\n' }, 'main:handler');
    assert.deepEqual(bad.dependencies?.problems.map((p) => [p.file, p.line]), [['requirements.txt', 2]]);
  });

  it('takes packages vendored in a folder of the bundle (pip install -t vendor, then sys.path.insert) as present (apps round of 2026-12-05)', async () => {
    const report = await check({
      'main.py': 'import os, sys\nsys.path.insert(0, os.path.join(os.path.dirname(__file__), "vendor"))\nimport orjson\nimport six\nimport _cffi_backend\nimport humanize.time\nimport requests\n\ndef handler(e, c):\n    pass\n',
      'vendor/orjson/__init__.py': '',
      'vendor/orjson/orjson.cpython-311-x86_64-linux-gnu.so': 'ELF',
      'vendor/humanize/__init__.py': '',
      'vendor/humanize/time.py': '',
      'vendor/six.py': '',
      'vendor/_cffi_backend.cpython-311-x86_64-linux-gnu.so': 'ELF',
    }, 'main:handler');
    assert.deepEqual(report.warnings.map((w) => /imports '(\w+)'/.exec(w.message)?.[1]), ['requests'], JSON.stringify(report.warnings));
  });

  it("counts what the runtime declares as provided, not the tests' packages its venv may hold (apps round 4, F4)", async () => {
    // All importable here (setup.sh installs runtime/requirements-dev.txt into the runtime's venv),
    // none where only the runtime's declared packages are (npm start, the images).
    const main = { 'main.py': 'import requests, yaml, jinja2, flask, pytest\nimport fastapi, pydantic, starlette, anyio, msgpack, pymongo, bson\n\ndef handler(e, c):\n    pass\n' };
    const report = await check(main, 'main:handler');
    assert.deepEqual(report.warnings.map((w) => /imports '(\w+)'/.exec(w.message)?.[1]).sort(), ['flask', 'jinja2', 'pytest', 'requests', 'yaml']);
    assert.match(report.warnings.find((w) => w.message.includes("'yaml'"))!.message, /add 'pyyaml' to requirements\.txt/);
  });

  it('advises a requirement that provides the module: psycopg[binary] for psycopg (psycopg-binary does not)', async () => {
    const main = { 'main.py': 'import psycopg\nimport google.protobuf\n\ndef handler(e, c):\n    pass\n' };
    const bare = await check(main, 'main:handler');
    assert.match(bare.warnings.find((w) => w.line === 1)!.message, /imports 'psycopg', .*: add 'psycopg\[binary\]' to requirements\.txt$/);
    // `google` is a namespace of many distributions: none is named.
    assert.match(bare.warnings.find((w) => w.line === 2)!.message, /imports 'google', .*: add the package that provides it to requirements\.txt$/);
    // psycopg-binary ships psycopg_binary only (apps round 4: validate said ready, the deploy failed at the import).
    const binary = await check({ ...main, 'requirements.txt': 'psycopg-binary==3.2.3\nprotobuf\n' }, 'main:handler');
    assert.deepEqual(binary.warnings.map((w) => w.line), [1]);
    const extra = await check({ ...main, 'requirements.txt': 'psycopg[binary]==3.2.3\nprotobuf\n' }, 'main:handler');
    assert.deepEqual(extra.warnings, []);
  });

  it('warns about a server started at import (uvicorn.run, Flask app.run) outside the __main__ guard, in modules the entrypoint imports', async () => {
    // Apps round 12: `uvicorn.run(app, port=8080)` at the bottom of main.py (what `python main.py` runs) failed the deploy with SystemExit: 3.
    const head = 'import uvicorn\nfrom uvicorn import run as serve\nfrom fastapi import FastAPI\nfrom flask import Flask\nimport helper\napp = FastAPI()\nweb = Flask(__name__)\n';
    const report = await check({
      'main.py': `${head}uvicorn.run(app, host="0.0.0.0", port=8080)\nserve(app)\nweb.run()\nif __name__ == "__main__":\n    uvicorn.run(app)\n    web.run()\ndef later():\n    uvicorn.run(app)\n`,
      'helper.py': 'import uvicorn\ntry:\n    uvicorn.run("main:app")\nexcept SystemExit:\n    pass\n',
      'run.py': 'import uvicorn\nuvicorn.run("main:app", reload=True)\n',
      'requirements.txt': 'fastapi\nuvicorn\nflask\n',
    }, 'main:app');
    const found = report.warnings.filter((w) => /runs when the module is imported/.test(w.message)).map((w) => `${w.file}:${w.line}`).sort();
    assert.deepEqual(found, ['helper.py:3', 'main.py:10', 'main.py:8', 'main.py:9']);
    assert.match(report.warnings.find((w) => w.line === 8)!.message, /^uvicorn\.run\(\.\.\.\) runs .* put it under `if __name__ == "__main__":`/);
  });

  it('a src layout: modules under src/ (no src/__init__.py) are the function\'s own by their names without src.', async () => {
    const files = { 'src/shop/__init__.py': '', 'src/shop/prices.py': 'PRICE = 1\n', 'src/shop/api.py': 'import shop\nfrom shop.prices import PRICE\n\ndef handler(e, c):\n    return PRICE\n' };
    const report = await check(files, 'src.shop.api:handler');
    assert.deepEqual(report.problems, []);
    assert.deepEqual(report.warnings, [], 'shop is no third-party package');
    // Named as the project runs it (uvicorn --app-dir src, an installed package): found under src/ (apps round 12).
    const own = await check(files, 'shop.api:handler');
    assert.deepEqual(own.problems, []);
    assert.equal(own.entrypoint.file, 'src/shop/api.py');
    // With src/__init__.py, src is a package: `import shop` is not its.
    const pkg = await check({ ...files, 'src/__init__.py': '' }, 'src.shop.api:handler');
    assert.ok(pkg.warnings.some((w) => /imports 'shop'/.test(w.message)), JSON.stringify(pkg.warnings));
    assert.match((await check({ ...files, 'src/__init__.py': '' }, 'shop.api:handler')).problems[0]!.message, /module 'shop.api' not found/);
  });

  it("reads Poetry's [tool.poetry.dependencies] as requirements (carets and tildes as ranges) when [project] has none", async () => {
    const pyproject = [
      '[tool.poetry]', 'name = "x"', '[tool.poetry.dependencies]', 'python = "^3.11"', 'bs4 = "^0.0.2"', 'httpx = "~0.27"',
      'pydantic = {version = "^2.5", extras = ["email"]}', 'rich = {version = "13.7.1", optional = true}', 'old = {version = "*", python = "<3.12"}',
    ].join('\n');
    const report = await check({ 'main.py': 'import bs4\nimport httpx\n\ndef handler(e, c):\n    pass\n', 'pyproject.toml': pyproject }, 'main:handler');
    assert.deepEqual(report.dependencies?.problems, []);
    // As the builder hands them to pip: parsed and written out again (specifiers in packaging's order).
    assert.deepEqual(report.dependencies?.declared.map((d) => d.requirement), [
      'bs4<0.0.3,>=0.0.2', 'httpx<0.28,>=0.27', 'pydantic[email]<3,>=2.5', 'old; python_version < "3.12"',
    ]);
    assert.deepEqual(report.warnings, [], 'its imports are declared');
    const git = await check({ 'main.py': 'def handler(e, c):\n    pass\n', 'pyproject.toml': '[tool.poetry.dependencies]\nx = {git = "https://example.com/x.git"}\n' }, 'main:handler');
    assert.match(git.dependencies!.problems[0]!.message, /git dependencies are not allowed/);
  });

  it('warns that FastAPI\'s Form, File and UploadFile need python-multipart when it is not declared (issue 10)', async (t) => {
    const probe = execFileSync(PYTHON, ['-I', '-c', 'import importlib.util; print(importlib.util.find_spec("python_multipart") is None)'], { encoding: 'utf8' }).trim();
    if (probe !== 'True') return t.skip('python-multipart is installed in the runtime\'s environment: nothing to declare');
    // FastAPI imports it only when a route declares a form parameter: the app then fails at import
    // on the platform (FUNCTION_INIT_FAILED at the first call). No import statement names it.
    const app = 'from fastapi import FastAPI, Form, UploadFile\napp = FastAPI()\n@app.post("/")\nasync def up(file: UploadFile, title: str = Form()):\n    return {}\n';
    const bare = await check({ 'app.py': app }, 'app:app');
    assert.deepEqual(untriggered(bare).map((w) => [w.file, w.line]), [['app.py', 1]]);
    assert.match(untriggered(bare)[0]!.message, /form parsing.*'python_multipart'.*add 'python-multipart'/);
    const security = await check({ 'app.py': 'from fastapi.security import OAuth2PasswordRequestForm\nfrom fastapi import FastAPI\napp = FastAPI()\n' }, 'app:app');
    assert.deepEqual(security.warnings.map((w) => [w.file, w.line]), [['app.py', 1]]);
    const declared = await check({ 'app.py': app, 'requirements.txt': 'python-multipart==0.0.20\n' }, 'app:app');
    assert.deepEqual(untriggered(declared), []);
  });

  it('imports pip\'s requirement parser and importlib.metadata only for a folder that declares requirements', () => {
    // Together ~80 ms of every check's start (bench/README.md, section 9).
    const heavy = ['pip._vendor.packaging.requirements', 'importlib.metadata'];
    const code = 'import json\n\ndef handler(event, context):\n    return 1\n';
    assert.deepEqual(importedBy({ 'main.py': code }, heavy), []);
    assert.deepEqual(importedBy({ 'main.py': code, 'requirements.txt': 'pillow>=10\n' }, heavy), heavy);
  });

  it('does not import asyncio (the runtime\'s WSGI module pulled it in for one name rule: ~50 ms of each upload\'s check)', () => {
    const code = 'def app(environ, start_response):\n    return []\n';
    assert.deepEqual(importedBy({ 'main.py': code }, ['asyncio', 'ssl', 'subprocess']), []);
  });
});

describe('PythonChecker', () => {
  it('started before the check, answers it as a process per check does', async (t) => {
    const files = { 'main.py': 'import surely_not_installed_pkg\n\ndef handler(event, context):\n    return 1\n', 'bad.py': 'def f(:\n' };
    const dir = folder(files);
    t.after(() => rmSync(dir, { recursive: true, force: true }));
    const checker = new PythonChecker().start(PYTHON);
    t.after(() => checker.close());
    const kept = await checker.check(PYTHON, dir, 'main:handler', Object.keys(files));
    assert.deepEqual(kept, await runPythonPreflight(PYTHON, dir, 'main:handler', Object.keys(files)));
    assert.equal(kept.warnings.length, 1);
    assert.equal(kept.syntaxErrors.length, 1);
  });

  it('reports an interpreter that cannot start at the check (PYTHON_UNAVAILABLE)', async (t) => {
    const dir = folder({ 'main.py': '' });
    t.after(() => rmSync(dir, { recursive: true, force: true }));
    const missing = join(dir, 'no-such-python');
    const checker = new PythonChecker().start(missing);
    t.after(() => checker.close());
    await assert.rejects(checker.check(missing, dir, 'main:handler', ['main.py']), (err: { code?: string; exitCode?: number }) => err.code === 'PYTHON_UNAVAILABLE' && err.exitCode === EXIT.FAILURE);
  });
});
