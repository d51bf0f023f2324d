/**
 * A queued run sees the request's origin as `/fn/` does (gateway/peer.ts clientView, loose ends
 * round 7, red team round 44's open point). Behind a trusted proxy, `/async/<name>/` and
 * `/hooks/...` runs were handed the client's raw `X-Forwarded-*` and `Forwarded` headers (and their
 * `_` spellings: an app reading `X-Forwarded-For` took the client's own choice of address for its
 * rate limit or audit log) and no client or scheme at all. Now the run keeps what the trusted proxy
 * said at acceptance: client, scheme, Host, prefix; its forwarding headers consumed. From an
 * untrusted peer the headers are left as they are (uvicorn's behaviour, as for `/fn/`) and the
 * client is the peer. Embedded platforms with real Python runtimes (FastAPI).
 */
import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import { describe, it } from 'node:test';
import { createFunction, deploy, filesOf, fnName, py, sleep, upload, usePlatform, type Api, type PlatformHarness } from './platform-harness.js';

const INFO = py(
  'from fastapi import FastAPI, Request',
  'app = FastAPI()',
  '@app.post("/info", name="info")',
  'def info(request: Request):',
  '    return {"rootPath": request.scope["root_path"], "scheme": request.url.scheme, "client": list(request.client or []),',
  '            "host": request.headers.get("host"), "forwarding": sorted(k for k in request.headers.keys() if "forward" in k)}',
);

interface Info { rootPath: string; scheme: string; client: [string, number]; host: string; forwarding: string[] }

const FORWARDING = {
  'x-forwarded-for': '203.0.113.7, 127.0.0.1', 'x-forwarded-proto': 'https', 'x-forwarded-host': 'api.example.com', 'x-forwarded-prefix': '/edge',
  x_forwarded_for: '6.6.6.6',
};

async function infoApp(api: Api, name: string, triggers: unknown[] = []): Promise<void> {
  await createFunction(api, name);
  if (triggers.length === 0) await upload(api, name, { 'main.py': INFO }, { entrypoint: 'main:app' });
  else {
    const up = await api.call('POST', `/functions/${name}/versions`, { files: filesOf({ 'main.py': INFO }), entrypoint: 'main:app', manifest: { kind: 'function', name, triggers } });
    assert.equal(up.status, 201, JSON.stringify(up.body));
  }
  await deploy(api, name);
}

async function resultOf(api: Api, runId: string): Promise<Info> {
  const deadline = Date.now() + 20_000;
  for (;;) {
    const res = await api.call('GET', `/runs/${runId}`);
    if (res.status === 200 && res.body.run.state === 'succeeded') return res.body.run.result.body as Info;
    if (Date.now() > deadline) throw new Error(`run ${runId}: ${JSON.stringify(res.body)}`);
    await sleep(100);
  }
}

async function queued(url: string, headers: Record<string, string>, body = '{}'): Promise<string> {
  const res = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body });
  assert.equal(res.status, 202, await res.clone().text());
  return ((await res.json()) as { runId: string }).runId;
}

async function webhookSecret(api: Api, name: string): Promise<string> {
  const res = await api.call('POST', `/functions/${name}/triggers/push/secret/rotate`, { grace: '0s' });
  assert.equal(res.status, 200, JSON.stringify(res.body));
  return res.body.secret as string;
}

const signed = (secret: string, body: string): Record<string, string> => ({ 'x-hub-signature-256': `sha256=${createHmac('sha256', secret).update(body).digest('hex')}` });

describe('queued runs behind a trusted proxy (FP_TRUSTED_PROXIES=127.0.0.1)', () => {
  const h: PlatformHarness = usePlatform({ trustedProxies: '127.0.0.1' });

  it('an async run sees the forwarded client, scheme, Host and prefix, and no forwarding header (before: the raw headers, no client)', { timeout: 60_000 }, async () => {
    const name = fnName('fwd');
    await infoApp(h.api, name);
    const got = await resultOf(h.api, await queued(`${h.url}/async/${name}/info`, FORWARDING));
    assert.deepEqual(got, { rootPath: `/edge/fn/${name}`, scheme: 'https', client: ['203.0.113.7', 0], host: 'api.example.com', forwarding: [] });
    // What /fn/ gives the same request.
    const sync = await fetch(`${h.url}/fn/${name}/info`, { method: 'POST', headers: FORWARDING, body: '{}' });
    assert.deepEqual(await sync.json(), got);
    // Without forwarding headers: the proxy itself is the client, over http.
    const bare = await resultOf(h.api, await queued(`${h.url}/async/${name}/info`, {}));
    assert.deepEqual([bare.scheme, bare.client[0], bare.forwarding], ['http', '127.0.0.1', []]);
  });

  it('a webhook run does too', { timeout: 60_000 }, async () => {
    const name = fnName('fwdhook');
    await infoApp(h.api, name, [{ type: 'webhook', id: 'push', path: '/info' }]);
    const secret = await webhookSecret(h.api, name);
    const body = '{"n": 1}';
    const runId = await queued(`${h.url}/hooks/${name}/push`, { ...signed(secret, body), ...FORWARDING, forwarded: 'for=198.51.100.9' }, body);
    const got = await resultOf(h.api, runId);
    // `Forwarded` wins over X-Forwarded-* when both are sent (clientView): as /fn/ reads it.
    assert.deepEqual([got.client, got.forwarding], [['198.51.100.9', 0], []]);
  });
});

describe('queued runs from an untrusted peer (FP_TRUSTED_PROXIES unset)', () => {
  const h: PlatformHarness = usePlatform();

  it('the headers are left as they are (as uvicorn and /fn/ do) and the client is the peer, over http', { timeout: 60_000 }, async () => {
    const name = fnName('nofwd');
    await infoApp(h.api, name);
    const got = await resultOf(h.api, await queued(`${h.url}/async/${name}/info`, FORWARDING));
    assert.equal(got.rootPath, `/fn/${name}`);
    assert.equal(got.scheme, 'http');
    assert.equal(got.client[0], '127.0.0.1');
    assert.equal(got.host, new URL(h.url).host);
    assert.deepEqual(got.forwarding, ['x-forwarded-for', 'x-forwarded-host', 'x-forwarded-prefix', 'x-forwarded-proto', 'x_forwarded_for']);
  });
});
