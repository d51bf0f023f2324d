/**
 * An HTTP/1.0 request's version outlives the connection (apps round 30; ADR 0260 amended): a queued
 * `/async/` run and a webhook delivery (queued or `sync: true`) keep it from their acceptance (the
 * envelope's `hv`), so their scope says `http_version` `1.0` as `/fn/`'s does; they said `1.1`.
 * A handler with `event: lambda` gets `requestContext.http.protocol` (and REST's
 * `requestContext.protocol`) `HTTP/1.0`, which said `HTTP/1.1` whatever the request. An HTTP/1.1
 * request's runs still say 1.1. Embedded platform, real Python runtimes (FastAPI).
 */
import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import { describe, it } from 'node:test';
import { rawExchange } from './raw-exchange.js';
import { createFunction, deploy, fnName, py, sleep, upload, usePlatform, type Api } from './platform-harness.js';

const APP = py(
  'from fastapi import FastAPI, Request',
  'app = FastAPI()',
  '@app.post("/info")',
  'def info(request: Request):',
  '    return {"version": request.scope["http_version"]}',
);

const LAMBDA = py(
  'import json',
  'def handler(event, context):',
  '    c = event["requestContext"]',
  '    return {"statusCode": 200, "headers": {"content-type": "application/json"}, "body": json.dumps({"http": c["http"]["protocol"], "rest": c["protocol"]})}',
);

const h = usePlatform({ poolSize: 1 });

/** One request over a raw socket as `version`; the answer's status line and body. */
async function send(version: string, target: string, headers: Record<string, string> = {}, body = '{}'): Promise<{ status: string; body: string }> {
  const lines = [`POST ${target} ${version}`, `Host: ${new URL(h.url).host}`, 'Content-Type: application/json', `Content-Length: ${body.length}`,
    ...Object.entries(headers).map(([k, v]) => `${k}: ${v}`), ...(version === 'HTTP/1.1' ? ['Connection: close'] : [])];
  const answer = await rawExchange(h.platform.port, [`${lines.join('\r\n')}\r\n\r\n${body}`], { waitMs: 10_000 });
  const at = answer.text.indexOf('\r\n\r\n');
  return { status: answer.text.slice(0, answer.text.indexOf('\r\n')), body: answer.text.slice(at + 4) };
}

async function resultOf(api: Api, runId: string): Promise<unknown> {
  const deadline = Date.now() + 20_000;
  for (;;) {
    const res = await api.call('GET', `/runs/${runId}`);
    if (res.status === 200 && res.body.run.state === 'succeeded') return res.body.run.result.body;
    if (Date.now() > deadline) throw new Error(`run ${runId}: ${JSON.stringify(res.body)}`);
    await sleep(100);
  }
}

async function queued(version: string, target: string, headers: Record<string, string> = {}, body = '{}'): Promise<unknown> {
  const a = await send(version, target, headers, body);
  assert.match(a.status, /^HTTP\/1\.1 202 /, a.body);
  return resultOf(h.api, (JSON.parse(a.body) as { runId: string }).runId);
}

async function deployed(name: string, files: Record<string, string>, manifest: Record<string, unknown>): Promise<void> {
  await createFunction(h.api, name);
  await upload(h.api, name, files, { entrypoint: manifest.event === 'lambda' ? 'main:handler' : 'main:app', manifest: { kind: 'function', name, ...manifest } });
  await deploy(h.api, name);
}

async function secretOf(name: string, trigger: string): Promise<Record<string, string>> {
  const res = await h.api.call('POST', `/functions/${name}/triggers/${trigger}/secret/rotate`, { grace: '0s' });
  assert.equal(res.status, 200, JSON.stringify(res.body));
  return { 'X-Hub-Signature-256': `sha256=${createHmac('sha256', res.body.secret as string).update('{}').digest('hex')}` };
}

describe('an HTTP/1.0 request queued or delivered to a webhook', () => {
  it('an /async/ run\'s scope says 1.0 (was 1.1); an HTTP/1.1 one\'s 1.1', { timeout: 60_000 }, async () => {
    const name = fnName('q10');
    await deployed(name, { 'main.py': APP }, {});
    assert.deepEqual(await queued('HTTP/1.0', `/async/${name}/info`), { version: '1.0' });
    assert.deepEqual(await queued('HTTP/1.1', `/async/${name}/info`), { version: '1.1' });
  });

  it('a webhook run, queued or sync, says 1.0 too', { timeout: 60_000 }, async () => {
    const name = fnName('q10hook');
    await deployed(name, { 'main.py': APP }, { triggers: [{ type: 'webhook', id: 'push', path: '/info' }, { type: 'webhook', id: 'now', path: '/info', sync: true }] });
    assert.deepEqual(await queued('HTTP/1.0', `/hooks/${name}/push`, await secretOf(name, 'push')), { version: '1.0' });
    const now = await send('HTTP/1.0', `/hooks/${name}/now`, await secretOf(name, 'now'));
    assert.match(now.status, /^HTTP\/1\.1 200 /, now.body);
    assert.deepEqual(JSON.parse(now.body), { version: '1.0' });
  });

  it('the Lambda-style event says HTTP/1.0 in requestContext (was HTTP/1.1), over /fn/ and /async/', { timeout: 60_000 }, async () => {
    const name = fnName('q10lambda');
    await deployed(name, { 'main.py': LAMBDA }, { event: 'lambda' });
    const direct = await send('HTTP/1.0', `/fn/${name}/`);
    assert.match(direct.status, /^HTTP\/1\.1 200 /, direct.body);
    assert.deepEqual(JSON.parse(direct.body), { http: 'HTTP/1.0', rest: 'HTTP/1.0' });
    assert.deepEqual(await queued('HTTP/1.0', `/async/${name}/`), { http: 'HTTP/1.0', rest: 'HTTP/1.0' });
    assert.deepEqual(JSON.parse((await send('HTTP/1.1', `/fn/${name}/`)).body), { http: 'HTTP/1.1', rest: 'HTTP/1.1' });
  });
});
