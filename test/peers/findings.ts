/**
 * The closed list of findings the peer tier sorts platform-only failures into, each with a
 * minimal reproduction. A test that passes in-process and fails through the platform lands in
 * the first finding whose rule matches it, else in `unclassified` (which the report lists test
 * by test: a new finding to name). Probes (probes.ts) and the environment check feed the same
 * findings.
 */
import type { TestRecord } from './pytest-run.js';

export type FindingKind = 'bug' | 'gap' | 'difference';

export interface FindingSpec {
  id: string;
  title: string;
  /** bug: the platform does something wrong; gap: it lacks something apps use; difference: by design, but unlike a plain server. */
  kind: FindingKind;
  /** Failures that come and go between runs: counted and shown, never "expected" or "unexpected". */
  intermittent?: boolean;
  /** Minimal reproduction (Markdown). */
  reproduction: string;
  /** Where the behaviour comes from. */
  where?: string;
  match?: (t: FailedTest) => boolean;
}

export interface FailedTest {
  record: TestRecord;
  /** The app module's source (for rules on what the app declares). */
  appSource: string;
}

const msg = (t: FailedTest): string => t.record.message ?? '';
const errors = (t: FailedTest): { code: string; type?: string; message?: string }[] => t.record.platformErrors ?? [];
const hasError = (t: FailedTest, code: string, type?: RegExp): boolean => errors(t).some((e) => e.code === code && (type === undefined || type.test(e.type ?? '')));

const APP = "```python\n# main.py (entrypoint main:app)\nfrom fastapi import FastAPI\napp = FastAPI()\n";

export const FINDINGS: FindingSpec[] = [
  {
    id: 'sandbox-enter-einval',
    title: 'Intermittent 502 FUNCTION_INIT_FAILED (SandboxError: "the sandbox could not be entered: OSError: [Errno 22] Invalid argument") on cgroup v1 with swap accounting',
    kind: 'bug',
    intermittent: true,
    where: 'poolmgr/host/cgroups.ts (memory ops), runtime/fp_sandbox/enter.py `_cgroup_op`',
    reproduction: [
      'Any app, any request that specializes an instance, on a loaded machine: a few cold starts in a few hundred fail.',
      'The memory limit is written as `memory.usage_in_bytes + B`, then `memory.memsw.limit_in_bytes` as',
      '`memory.memsw.usage_in_bytes + B` from a second, later read. cgroup v1 refuses a memsw limit below the',
      'memory limit with EINVAL, which happens whenever the second usage reads lower than the first (usage is',
      'batched per CPU and pages are reclaimed in between):',
      '```sh',
      'd=/sys/fs/cgroup/memory/x; mkdir $d',
      'echo 209715200 > $d/memory.limit_in_bytes',
      'python3 -c "open(\'$d/memory.memsw.limit_in_bytes\',\'w\').write(\'209711104\')"   # OSError: [Errno 22]',
      '```',
      'Fix direction: one usage reading for both limits (memsw = memory limit + what swap already holds), or write memsw first when raising.',
    ].join('\n'),
    match: (t) => hasError(t, 'FUNCTION_INIT_FAILED', /^SandboxError$/),
  },
  {
    id: 'instance-local-files',
    title: "Files an app writes in its working directory live as long as its instance: a test that creates data and reads it back on a new instance (the first one recycled under the platform's instance cap) finds nothing",
    kind: 'difference',
    intermittent: true,
    where: 'runtime/fp_sandbox/enter.py (/code: an overlay with a layer of the instance\'s own), poolmgr/pool.ts (at the instance cap the least recently used idle instance is stopped)',
    reproduction: [
      APP.replace('app = FastAPI()\n', 'import sqlite3\napp = FastAPI()\ndb = sqlite3.connect("database.db", check_same_thread=False)\n') + '```',
      'Create a row, let enough other functions run to push this one\'s idle instance out (`FP_MAX_INSTANCES`, default 64; the peer tier deploys 118-333 apps), read it back: a new instance with an empty database. Under uvicorn the file outlives every request. Persistent data belongs in the data binding (docs/data-binding.md); the working directory is scratch space (docs/security.md, "What is not isolated").',
    ].join('\n'),
    match: (t) => /sqlite:\/\/\//.test(t.appSource) && errors(t).length === 0,
  },
  {
    id: 'read-only-workdir',
    title: "The working directory is the function's read-only code: an app that writes a file next to itself (a SQLite database) fails at startup",
    kind: 'gap',
    where: 'runtime/fp_runtime/specialize.py (chdir to the code directory), the sandbox (/code read-only)',
    reproduction: [
      APP.replace('app = FastAPI()\n', 'import sqlite3\napp = FastAPI()\nsqlite3.connect("database.db").execute("create table if not exists t (x)")\n') + '```',
      '→ 502 `FUNCTION_INIT_FAILED` `OperationalError: unable to open database file` (the docs\' SQLModel tutorial: `sqlite:///database.db`); under uvicorn the file is created in the working directory. Only `/tmp` is writable (64 MiB, per instance, lost with it).',
    ].join('\n'),
    match: (t) => /unable to open database file|Read-only file system|\[Errno 30\]/.test(JSON.stringify(errors(t)) + msg(t)),
  },
  {
    id: 'error-body',
    title: "An unhandled exception answers the platform's JSON error (500 FUNCTION_ERROR with the exception's message, type, file and line), not the app's `500 Internal Server Error`",
    kind: 'bug',
    where: 'runtime (ASGI exceptions become user_error), gateway error body (docs/api-invoke.md "Errors")',
    reproduction: [
      APP + '@app.get("/boom")\nasync def boom():\n    raise ValueError("db password is hunter2")\n```',
      '`curl -i …/fn/demo/boom` → `500 {"error":{"code":"FUNCTION_ERROR","message":"db password is hunter2",…,"type":"ValueError","file":"main.py","line":5}}`;',
      'uvicorn: `500 text/plain Internal Server Error` (the text stays in the server log). The exception text reaches any caller; the body is not what the app (or its clients and tests) expect.',
    ].join('\n'),
    match: (t) => hasError(t, 'FUNCTION_ERROR'),
  },
  {
    id: 'init-failed',
    title: 'The app could not be loaded on the platform although it loads in-process (502 FUNCTION_INIT_FAILED)',
    kind: 'bug',
    reproduction: 'See the failing tests: the error type and message are in each one.',
    match: (t) => hasError(t, 'FUNCTION_INIT_FAILED'),
  },
  {
    id: 'underscore-header',
    title: 'The connection closed without a response (was: a request header whose name contains `_` got none; fixed 2026-12-03 by the uWebSockets.js build of ADR 0037, so a match now is a regression)',
    kind: 'bug',
    where: 'the native HTTP parser of the uWebSockets.js build: the trufflesuite 20.30 build waited for more input on a header name byte outside letters, digits and `-`, and no JavaScript ran (docs/gateway.md, "Malformed requests")',
    reproduction: [
      APP + '@app.get("/")\nasync def root():\n    return {}\n```',
      "`curl -H 'save_data: true' …/fn/demo/` → nothing for ~10 s, then `curl: (52) Empty reply from server`; uvicorn answers 200 at once and the app sees `save_data` (FastAPI's `Header(convert_underscores=False)` tutorial).",
    ].join('\n'),
    match: (t) => /Server disconnected without sending a response|RemoteProtocolError|ConnectionResetError|ReadError/.test(msg(t)),
  },
  {
    id: 'proxy-prefix',
    title: 'A request whose path already carries the proxy prefix (TestClient(root_path="/api/v1") then GET /api/v1/items/42): the platform, like uvicorn --root-path, puts X-Forwarded-Prefix before the path, so the route is not found. Kept on purpose (ADR 0054): guessing that such a path was not stripped let /P/P/admin past a proxy guarding /P/admin (red team 6)',
    kind: 'difference',
    where: 'runtime/fp_runtime/scope.py (path = root_path + path, as uvicorn --root-path builds it); Starlette\'s TestClient passes the path as given instead. Prefixes a proxy strips work (X-Forwarded-Prefix, docs/gateway.md "Proxy headers")',
    reproduction: [
      APP + '@app.get("/items/{id}")\ndef item(id: str):\n    return {"id": id}\n```',
      "Behind a proxy that serves the app at `/api/v1` without stripping it and sends `X-Forwarded-Prefix: /api/v1`: `GET /api/v1/items/42` → 404 (the app sees `/api/v1/api/v1/items/42`); uvicorn `--root-path /api/v1` → 404 too; TestClient(root_path=\"/api/v1\") in-process → 200.",
    ].join('\n'),
    match: (t) => (t.record.flags ?? []).includes('TestClient(root_path=…)'),
  },
  {
    id: 'proxy-headers',
    title: 'X-Forwarded-Proto (and -For) from a proxy in front are not applied: the app always sees scheme http and client 127.0.0.1, so HTTPSRedirectMiddleware loops and redirects point to http://',
    kind: 'gap',
    where: 'runtime/fp_runtime/asgi.py (scheme "http", client fixed); uvicorn applies them for trusted proxies (--forwarded-allow-ips)',
    reproduction: [
      APP + 'from fastapi.middleware.httpsredirect import HTTPSRedirectMiddleware\napp.add_middleware(HTTPSRedirectMiddleware)\n@app.get("/")\ndef root():\n    return {}\n```',
      "`curl -i -H 'X-Forwarded-Proto: https' …/fn/demo/` → `307 location: https://…/fn/demo/` again (a loop behind a TLS proxy); uvicorn (proxy headers from 127.0.0.1 trusted by default) → 200.",
    ].join('\n'),
    match: (t) => /TooManyRedirects/.test(msg(t)) || (/https:\/\//.test(msg(t)) && /\+ http:\/\//.test(msg(t))),
  },
  {
    id: 'openapi-servers',
    title: 'The OpenAPI document gains `servers: [{"url": "/fn/<name>"}]` (FastAPI adds root_path), so it differs from the app\'s own document; correct for "Try it out" through the gateway, but any check against the app\'s schema fails',
    kind: 'difference',
    where: 'runtime/fp_runtime/asgi.py (root_path = /fn/<name>) + FastAPI root_path_in_servers',
    reproduction: [
      APP + '@app.get("/")\ndef root():\n    return {}\n```',
      '`curl -s …/fn/demo/openapi.json | jq .servers` → `[{"url": "/fn/demo"}]`; uvicorn: no `servers` key.',
    ].join('\n'),
    match: (t) => /'servers'|"servers"/.test(msg(t)) && msg(t).includes('/fn/'),
  },
  {
    id: 'app-root-path-404',
    title: 'An app that sets its own root_path (FastAPI(root_path="/api/v1")) answers 404 on every route',
    kind: 'bug',
    where: 'runtime/fp_runtime/asgi.py: scope path = /fn/<name>/…, and Starlette strips the app\'s root_path (/api/v1), which the path does not start with',
    reproduction: [
      '```python\nfrom fastapi import FastAPI\napp = FastAPI(root_path="/api/v1")\n@app.get("/app")\ndef read():\n    return {}\n```',
      '`curl -i …/fn/demo/app` → `404 {"detail":"Not Found"}`; uvicorn → 200 (and `/openapi.json` too).',
    ].join('\n'),
    match: (t) => /\b404\b|Not Found/.test(msg(t)) && /FastAPI\([^)]*root_path\s*=/.test(t.appSource),
  },
  {
    id: 'mount-in-urls',
    title: 'URLs the app builds (url_for, redirects, request.scope["root_path"]) carry /fn/<name>: right for clients of the gateway, unlike the same app served at /',
    kind: 'difference',
    where: 'runtime/fp_runtime/asgi.py (root_path = /fn/<name>)',
    reproduction: [
      APP + 'from fastapi import Request\n@app.get("/items/{id}", name="item")\ndef item(id: str, request: Request):\n    return {"self": str(request.url_for("item", id=id))}\n```',
      '`curl …/fn/demo/items/1` → `{"self": "http://…/fn/demo/items/1"}`; uvicorn at / → `http://…/items/1`.',
    ].join('\n'),
    match: (t) => msg(t).includes('/fn/'),
  },
  {
    id: 'client-address',
    title: "request.client has the caller's address but port 0: the pinned uWebSockets.js build does not expose the peer's port, and the gateway's peer addon that reads it was not built or failed its check (forwarded addresses have no port either, as under uvicorn)",
    kind: 'gap',
    where: 'gateway/peer-port.ts (the addon gateway/native/peer.cc, built by scripts/build-peer.sh; docs/adr/0093-peer-port.md); the platform warns at start when it is not in use',
    reproduction: [
      APP + 'from fastapi import Request\n@app.get("/client")\ndef client(request: Request):\n    return {"client": request.client}\n```',
      '`curl …/fn/demo/client` → `{"client": ["127.0.0.1", 0]}`; uvicorn → `["127.0.0.1", <the caller\'s port>]`.',
    ].join('\n'),
    match: (t) => /testclient/.test(msg(t)) && /127\.0\.0\.1|\b50000\b/.test(msg(t)),
  },
  {
    id: 'websocket-state-per-instance',
    title: "An app's WebSocket connections are spread over its instances: one that keeps them in memory (a chat's ConnectionManager) broadcasts to its own instance's connections only",
    kind: 'difference',
    where: 'poolmgr (each WebSocket connection is one call, holding an instance while it lasts; concurrent calls start instances), docs/api-invoke.md "WebSockets"',
    reproduction: [
      APP.replace('app = FastAPI()\n', 'from fastapi import WebSocket\napp = FastAPI()\npeers: list[WebSocket] = []\n') + '@app.websocket("/chat")\nasync def chat(ws: WebSocket):\n    await ws.accept()\n    peers.append(ws)\n    while True:\n        text = await ws.receive_text()\n        for p in peers:\n            await p.send_text(text)\n```',
      'Two clients connected at once: each is an instance of its own, so what one sends reaches only itself; the other waits until the function\'s `limits.timeout` closes it (1001). Under uvicorn both are in one process. Fan-out across instances needs a shared channel (Redis pub/sub, the data binding).',
    ].join('\n'),
    match: (t) => /WebSocketDisconnect/.test(msg(t)) && /\.broadcast\(|active_connections/.test(t.appSource),
  },
  // Found by the probes only (nothing in the tutorial tests can see them):
  {
    id: 'streaming-buffered',
    title: 'StreamingResponse (and server-sent events) are buffered whole: the client gets the first byte when the stream has ended',
    kind: 'gap',
    where: 'runtime/fp_runtime/asgi.py (the response is collected whole), docs/runtime-protocol.md "ASGI"',
    reproduction: [
      APP + 'import asyncio\nfrom fastapi.responses import StreamingResponse\n@app.get("/stream")\nasync def stream():\n    async def chunks():\n        yield b"first\\n"\n        await asyncio.sleep(0.5)\n        yield b"second\\n"\n    return StreamingResponse(chunks())\n```',
      '`curl -N …/fn/demo/stream`: both lines after 0.5 s; uvicorn: `first` at once.',
    ].join('\n'),
  },
  {
    id: 'background-holds-response',
    title: 'Background tasks hold the response: the client waits until every BackgroundTask has finished, and one that raises turns the 200 into a 500 FUNCTION_ERROR',
    kind: 'bug',
    where: 'runtime/fp_runtime/asgi.py (`await app(...)` returns after the background tasks; the result is sent then)',
    reproduction: [
      APP + 'import time\nfrom fastapi import BackgroundTasks\n@app.get("/background")\nasync def background(tasks: BackgroundTasks):\n    tasks.add_task(time.sleep, 0.5)\n    return {"ok": True}\n```',
      '`time curl …/fn/demo/background` → 0.5 s; uvicorn: a few ms (the response is complete before the task runs).',
      'With a task that raises (`tasks.add_task(fail)`): uvicorn answers 200 and logs the error; the platform answers 500 `FUNCTION_ERROR` (the tutorial\'s `background_tasks` app, whose task writes `log.txt` into the read-only working directory, gets the same).',
    ].join('\n'),
  },
  {
    id: 'head-content-length',
    title: 'HEAD answers without the Content-Length the app set (the gateway frames HEAD itself)',
    kind: 'bug',
    where: 'gateway response writing (Content-Length from the function is dropped; HEAD has no body to count)',
    reproduction: [
      APP + '@app.api_route("/items", methods=["GET", "HEAD"])\ndef items():\n    return {"items": ["a", "b", "c"]}\n```',
      '`curl -I …/fn/demo/items` → no `content-length`; uvicorn → `content-length: 23`, as for GET (clients use it to size a download before fetching it).',
    ].join('\n'),
  },
  {
    id: 'missing-package',
    title: "Apps need packages the platform's shared runtime environment does not preload: such a function ships them in its requirements.txt (docs/dependencies.md)",
    kind: 'gap',
    where: "the platform's .venv (runtime/requirements.txt and the fastapi preset's packages); a function's own packages come from its requirements.txt, built at deploy into a site of its own",
    reproduction: [
      APP.replace('app = FastAPI()\n', 'from fastapi import Form\napp = FastAPI()\n') + '@app.post("/login")\ndef login(username: str = Form()):\n    return {"username": username}\n```',
      'Deployed without a requirements.txt on a platform whose environment lacks python-multipart: the deploy\'s start check refuses it (`FUNCTION_INIT_FAILED` `RuntimeError: Form data requires "python-multipart" to be installed`); with `python-multipart` in requirements.txt it serves. (The tier runs the runtimes in its peer environment, which has every package, so this is counted from an import check in the platform\'s own .venv, not as test failures.)',
    ].join('\n'),
  },
];

export const UNCLASSIFIED: FindingSpec = {
  id: 'unclassified',
  title: 'Platform-only failures no finding describes yet (name them)',
  kind: 'bug',
  reproduction: 'Each test is listed with its failure.',
};

/** The finding a platform-only failure belongs to (the first whose rule matches). */
export function classify(t: FailedTest): FindingSpec {
  return FINDINGS.find((f) => f.match?.(t)) ?? UNCLASSIFIED;
}

export function findingById(id: string): FindingSpec {
  return FINDINGS.find((f) => f.id === id) ?? UNCLASSIFIED;
}
