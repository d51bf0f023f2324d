/**
 * The gateway's edge (issue 10, ASGI fidelity): serving a function at the root of its own host,
 * root_path under /fn/<name>/ and for apps that set their own, proxy headers from trusted peers
 * only, the client's address, HEAD's Content-Length, and what callers see when a function fails.
 * Real Python runtimes (FastAPI apps) behind a real gateway, over HTTP.
 */
import assert from 'node:assert/strict';
import http from 'node:http';
import { describe, it } from 'node:test';
import { getOverOwnConnection } from '../helpers/own-connection.js';
import { errorOf, fnName, py, request, runRecord, useGateway } from './gateway-harness.js';

const app = fnName('app');
const rooted = fnName('rooted');
const raw = fnName('raw');
const handler = fnName('hnd');
const verbose = fnName('verbose');
const peer = fnName('peer');

const FASTAPI_APP = py(
  'from fastapi import FastAPI, Request',
  'app = FastAPI()',
  '@app.get("/info", name="info")',
  'def info(request: Request):',
  '    return {"rootPath": request.scope["root_path"], "scheme": request.url.scheme, "client": list(request.client),',
  '            "self": str(request.url_for("info")), "url": str(request.url), "host": request.headers.get("host"),',
  '            "forwarding": sorted(k for k in request.headers.keys() if "forward" in k)}',
  '@app.api_route("/items", methods=["GET", "HEAD"])',
  'def items():',
  '    return {"items": ["a", "b", "c"]}',
  '@app.api_route("/stream", methods=["GET", "HEAD"])',
  'def stream():',
  '    from fastapi.responses import StreamingResponse',
  '    return StreamingResponse(iter([b"hello ", b"world"]), media_type="text/plain")',
  '@app.get("/boom")',
  'def boom():',
  '    raise ValueError("db password is hunter2")',
  '@app.get("/redirect")',
  'def redirect(request: Request):',
  '    from fastapi.responses import RedirectResponse',
  '    return RedirectResponse(request.url_for("info"))',
);

const h = useGateway({
  [app]: { files: { 'main.py': FASTAPI_APP }, manifest: 'entrypoint: main:app' },
  [rooted]: {
    files: {
      'main.py': py(
        'from fastapi import FastAPI, Request',
        'app = FastAPI(root_path="/api/v1")',
        '@app.get("/app")',
        'def read(request: Request):',
        '    return {"rootPath": request.scope.get("root_path")}',
      ),
    },
    manifest: 'entrypoint: main:app',
  },
  [raw]: {
    files: {
      'main.py': py(
        'async def app(scope, receive, send):',
        '    if scope["type"] != "http":',
        '        return',
        '    raise KeyError("token=abc123")',
      ),
    },
    manifest: 'entrypoint: main:app',
  },
  [handler]: { files: { 'main.py': py('def handler(event, context):', '    raise RuntimeError("secret s3cr3t")') } },
  [verbose]: { files: { 'main.py': py('def handler(event, context):', '    raise RuntimeError("secret s3cr3t")') }, manifest: 'errors: verbose' },
  [peer]: { files: { 'main.py': py('def handler(event, context):', '    return {"clientIp": event["clientIp"], "lambda": event["requestContext"]["identity"]["sourceIp"], "scheme": event["scheme"]}') } },
}, { FP_TRUSTED_PROXIES: '127.0.0.1,::1' });

interface Info { rootPath: string; scheme: string; client: [string, number]; self: string; url: string; host: string; forwarding: string[] }

/** GET `path` over a connection of its own: the body, and the connection's local port (the gateway's peer port). */
function rawGet(path: string): Promise<[string, number]> {
  const url = new URL(h.url);
  return getOverOwnConnection(url.hostname, Number(url.port), path, url.host);
}

async function info(path: string, headers: Record<string, string> = {}): Promise<Info> {
  const res = await request(`${h.url}${path}`, { headers });
  assert.equal(res.status, 200, res.body.toString());
  return JSON.parse(res.body.toString()) as Info;
}

describe('serving at the root of a host', () => {
  it('<name>.localhost serves the function at /, with URLs as under uvicorn', async () => {
    const port = new URL(h.url).port;
    const host = `${app}.localhost:${port}`;
    const got = await info('/info', { host });
    assert.equal(got.rootPath, '');
    assert.equal(got.self, `http://${host}/info`);
    const spec = await request(`${h.url}/openapi.json`, { headers: { host } });
    assert.equal(spec.status, 200);
    assert.equal((JSON.parse(spec.body.toString()) as { servers?: unknown }).servers, undefined);
    const redirect = await request(`${h.url}/redirect`, { headers: { host } });
    assert.equal(redirect.status, 307);
    assert.equal(redirect.headers.location, `http://${host}/info`);
  });

  it('every path of the host is the function\'s, even /api/ and /healthz', async () => {
    const res = await request(`${h.url}/healthz`, { headers: { host: `${app}.localhost` } });
    assert.equal(res.status, 404);
    assert.deepEqual(JSON.parse(res.body.toString()), { detail: 'Not Found' }); // FastAPI's own 404
    assert.ok(res.headers['x-run-id']);
  });

  it('an unknown or malformed subdomain is 404 FUNCTION_NOT_FOUND; other hosts keep path routing', async () => {
    for (const host of ['nope-1.localhost', 'a.b.c.localhost', `${app}.other.localhost`, '-x.localhost']) {
      const res = await request(`${h.url}/info`, { headers: { host } });
      assert.equal(res.status, 404, host);
      assert.equal(errorOf(res.body).code, 'FUNCTION_NOT_FOUND', host);
    }
    const plain = await request(`${h.url}/healthz`, { headers: { host: 'localhost' } });
    assert.equal(plain.status, 200);
  });

  it('under /fn/<name>/ root_path is /fn/<name> and the URLs the app builds carry it', async () => {
    const got = await info(`/fn/${app}/info`);
    assert.equal(got.rootPath, `/fn/${app}`);
    assert.equal(got.self, `${h.url}/fn/${app}/info`);
    const spec = await request(`${h.url}/fn/${app}/openapi.json`);
    assert.deepEqual((JSON.parse(spec.body.toString()) as { servers?: unknown }).servers, [{ url: `/fn/${app}` }]);
  });

  it('an app with its own root_path (FastAPI(root_path=…)) routes, under /fn/ and at its host', async () => {
    for (const [url, headers] of [[`${h.url}/fn/${rooted}/app`, {}], [`${h.url}/app`, { host: `${rooted}.localhost` }]] as const) {
      const res = await request(url, { headers });
      assert.equal(res.status, 200, res.body.toString());
      assert.deepEqual(JSON.parse(res.body.toString()), { rootPath: '/api/v1' });
    }
  });
});

describe('proxy headers and the client', () => {
  it('request.client is the peer\'s address and port, as under uvicorn (issue 10; it was always port 0)', async () => {
    // Over a socket of our own, whose port we know; two requests on it, two connections.
    for (let i = 0; i < 2; i++) {
      const [got, localPort] = await rawGet(`/fn/${app}/info`);
      assert.deepEqual((JSON.parse(got) as Info).client, ['127.0.0.1', localPort]);
    }
    const peerOfHandler = await rawGet(`/fn/${peer}/`);
    assert.deepEqual(JSON.parse(peerOfHandler[0]), { clientIp: '127.0.0.1', lambda: '127.0.0.1', scheme: 'http' });
  });

  it('forwarded headers from a trusted proxy (127.0.0.1 here) apply', async () => {
    const direct = await info(`/fn/${app}/info`);
    assert.equal(direct.client[0], '127.0.0.1');
    assert.ok(direct.client[1] > 0, `port ${direct.client[1]}`);
    assert.equal(direct.scheme, 'http');
    const proxied = await info(`/fn/${app}/info`, {
      'x-forwarded-proto': 'https', 'x-forwarded-for': '203.0.113.7, 127.0.0.1', 'x-forwarded-host': 'api.example.com',
    });
    assert.equal(proxied.scheme, 'https');
    assert.deepEqual(proxied.client, ['203.0.113.7', 0]);
    assert.equal(proxied.host, 'api.example.com');
    assert.equal(proxied.self, `https://api.example.com/fn/${app}/info`);
    assert.deepEqual(proxied.forwarding, []); // applied, so consumed: the app sees what the client sent the proxy
    const rfc = await info(`/fn/${app}/info`, { forwarded: 'for="[2001:db8::1]:4711";proto=https;host=shop.example' });
    assert.deepEqual([rfc.scheme, rfc.client, rfc.host], ['https', ['2001:db8::1', 0], 'shop.example']);
  });

  it("a handler's event.clientIp is the same client (Lambda's requestContext.identity.sourceIp too), event.scheme the proxy's", async () => {
    const direct = await request(`${h.url}/fn/${peer}/`);
    assert.deepEqual(JSON.parse(direct.body.toString()), { clientIp: '127.0.0.1', lambda: '127.0.0.1', scheme: 'http' });
    const proxied = await request(`${h.url}/fn/${peer}/`, { headers: { 'x-forwarded-for': '203.0.113.7, 127.0.0.1' } });
    assert.deepEqual(JSON.parse(proxied.body.toString()), { clientIp: '203.0.113.7', lambda: '203.0.113.7', scheme: 'http' });
    // TLS ended at the proxy: the header is consumed, so a plain handler had no way to tell (ops round 2)
    const tls = await request(`${h.url}/fn/${peer}/`, { headers: { 'x-forwarded-for': '203.0.113.7', 'x-forwarded-proto': 'https' } });
    assert.deepEqual(JSON.parse(tls.body.toString()), { clientIp: '203.0.113.7', lambda: '203.0.113.7', scheme: 'https' });
  });

  it('forwarding headers spelt with `_` are consumed too: WSGI and Django read x_forwarded_for as X-Forwarded-For (red team 2)', async () => {
    // Django's ASGI request and every WSGI bridge name a header HTTP_<NAME> with `-` turned into
    // `_`, so `x_forwarded_for` (which uWS passes and a proxy such as Envoy or HAProxy forwards)
    // is X-Forwarded-For to them. The gateway consumed the proxy's real one and left the client's
    // look-alike: the app saw only the client's own choice of address (ADR 0039).
    const proxied = await info(`/fn/${app}/info`, {
      'x-forwarded-for': '203.0.113.7', x_forwarded_for: '6.6.6.6', x_forwarded_proto: 'https', x_forwarded_host: 'evil.example',
      x_forwarded_prefix: '/evil', Forwarded_: 'x', 'x-forwarded_for': '6.6.6.7',
    });
    assert.deepEqual(proxied.client, ['203.0.113.7', 0]);
    assert.deepEqual(proxied.forwarding, ['forwarded_']);
  });

  it('X-Forwarded-Prefix from a trusted proxy goes before root_path, so the app\'s URLs carry it', async () => {
    const host = `${app}.localhost`;
    const atRoot = await info('/info', { host, 'x-forwarded-prefix': '/api/v1' });
    assert.equal(atRoot.rootPath, '/api/v1');
    assert.equal(atRoot.self, `http://${host}/api/v1/info`);
    const underFn = await info(`/fn/${app}/info`, { 'x-forwarded-prefix': '/edge/' });
    assert.equal(underFn.rootPath, `/edge/fn/${app}`);
  });

  it('X-Forwarded-Prefix is always a prefix the proxy stripped, as under uvicorn --root-path (ADR 0054): /P/P/admin never reaches /admin', async () => {
    // A proxy at /api/v1 that strips it and guards /api/v1/admin: a client asking for
    // /api/v1/api/v1/admin gets past the guard, and the proxy forwards /api/v1/admin. Taking a path
    // that starts with the prefix as "not stripped" (briefly, on 2026-12-04) served the app's
    // /admin; the path below the prefix is the path as forwarded, as uvicorn builds the scope.
    const host = `${app}.localhost`;
    const forwarded = await info('/info', { host, 'x-forwarded-prefix': '/api/v1' });
    assert.equal(forwarded.rootPath, '/api/v1');
    assert.equal(forwarded.url, `http://${host}/api/v1/info`);
    const doubled = await request(`${h.url}/api/v1/info`, { headers: { host, 'x-forwarded-prefix': '/api/v1' } });
    assert.equal(doubled.status, 404, 'the app sees /api/v1/api/v1/info: not its /info');
  });

});

describe('proxy headers from an untrusted peer (FP_TRUSTED_PROXIES unset: nobody is trusted)', () => {
  const untrusted = useGateway({ [app]: { files: { 'main.py': FASTAPI_APP }, manifest: 'entrypoint: main:app' } });

  it('are ignored: the peer is the client, over http, with its own Host and root_path', async () => {
    const res = await request(`${untrusted.url}/fn/${app}/info`, {
      headers: { 'x-forwarded-proto': 'https', 'x-forwarded-for': '203.0.113.7', 'x-forwarded-host': 'evil.example', forwarded: 'for=198.51.100.1;proto=https', 'x-forwarded-prefix': '/evil' },
    });
    assert.equal(res.status, 200);
    const got = JSON.parse(res.body.toString()) as Info;
    assert.equal(got.rootPath, `/fn/${app}`);
    assert.deepEqual(got.forwarding, ['forwarded', 'x-forwarded-for', 'x-forwarded-host', 'x-forwarded-prefix', 'x-forwarded-proto']);
    assert.equal(got.scheme, 'http');
    assert.equal(got.client[0], '127.0.0.1');
    assert.equal(got.host, new URL(untrusted.url).host);
  });
});

describe('headers', () => {
  it('a HEAD answer carries the Content-Length of the GET answer', async () => {
    const get = await request(`${h.url}/fn/${app}/items`);
    const head = await request(`${h.url}/fn/${app}/items`, { method: 'HEAD' });
    assert.equal(head.status, 200);
    assert.equal(head.body.length, 0);
    assert.equal(head.headers['content-length'], String(get.body.length));
  });

  it('a HEAD answer of a streamed body announces no length (it said content-length: 0, the first piece\'s)', async () => {
    const get = await request(`${h.url}/fn/${app}/stream`);
    assert.equal(get.body.toString(), 'hello world');
    assert.equal(get.headers['transfer-encoding'], 'chunked');
    const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
    try {
      const head = await request(`${h.url}/fn/${app}/stream`, { method: 'HEAD', agent });
      assert.equal(head.status, 200);
      assert.equal(head.body.length, 0);
      assert.equal(head.headers['content-length'], undefined, JSON.stringify(head.headers));
      // The connection goes on: the next answer on it is whole.
      assert.equal((await request(`${h.url}/fn/${app}/items`, { agent })).body.toString(), '{"items":["a","b","c"]}');
    } finally {
      agent.destroy();
    }
  });
});

describe('errors', () => {
  it('an ASGI app that raises answers its own 500; the message stays in the run record', async () => {
    const res = await request(`${h.url}/fn/${app}/boom`);
    assert.equal(res.status, 500);
    assert.equal(res.body.toString(), 'Internal Server Error');
    assert.match(String(res.headers['content-type']), /^text\/plain/);
    const run = await runRecord(h, String(res.headers['x-run-id']));
    assert.equal(run.status, 'failed');
    assert.equal(run.errorCode, 'FUNCTION_ERROR');
    assert.equal(run.httpStatus, 500);
    assert.equal(run.error?.type, 'ValueError');
    assert.match(run.error?.message ?? '', /hunter2/);
  });

  it('an ASGI app that raises before answering gets the plain 500 uvicorn sends', async () => {
    const res = await request(`${h.url}/fn/${raw}/`);
    assert.equal(res.status, 500);
    assert.equal(res.body.toString(), 'Internal Server Error');
    const run = await runRecord(h, String(res.headers['x-run-id']));
    assert.equal(run.errorCode, 'FUNCTION_ERROR');
    assert.match(run.error?.message ?? '', /abc123/);
  });

  it('a handler that raises: the caller gets the code and a generic message, the owner the details', async () => {
    const res = await request(`${h.url}/fn/${handler}/`);
    assert.equal(res.status, 500);
    assert.doesNotMatch(res.body.toString(), /s3cr3t|RuntimeError|main\.py/);
    const error = errorOf(res.body);
    assert.equal(error.code, 'FUNCTION_ERROR');
    assert.equal(error.type, undefined);
    const run = await runRecord(h, String(res.headers['x-run-id']));
    assert.match(run.error?.message ?? '', /s3cr3t/);
    assert.equal(run.error?.type, 'RuntimeError');
  });

  it('errors: verbose shows the message, type, file and line to callers', async () => {
    const res = await request(`${h.url}/fn/${verbose}/`);
    const error = errorOf(res.body);
    assert.equal(error.code, 'FUNCTION_ERROR');
    assert.match(String(error['message']), /s3cr3t/);
    assert.equal(error.type, 'RuntimeError');
    assert.equal(error.file, 'main.py');
  });
});
