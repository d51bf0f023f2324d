/**
 * `event: lambda` in platform.yaml: a handler(event, context) gets API Gateway's event as Lambda
 * gives it (runtime/fp_runtime/lambda_event.py; docs/api-invoke.md, "Lambda's event"). With the
 * platform's event the body is bytes, and Lambda code that parses the `str` Lambda gives read a
 * form's fields back as missing (apps round of 2026-12-05). Header names are found in any case:
 * REST API code reads `event["headers"]["Content-Type"]` (apps round 6: KeyError). Deployed through the API (the store's
 * registry) and from a functions directory (the directory registry).
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { request, useGateway } from './gateway-harness.js';
import { createFunction, deploy, fnName, py, upload, usePlatform } from './platform-harness.js';

/** Lambda code as written for API Gateway: a form body parsed as text, cookies, the request context. */
const LAMBDA = py(
  'import base64, json',
  'from urllib.parse import parse_qs',
  'def handler(event, context):',
  '    body = event["body"]',
  '    form = parse_qs(body) if body and not event["isBase64Encoded"] else {}',
  '    raw = base64.b64decode(body) if event["isBase64Encoded"] else None',
  '    return {"statusCode": 200, "headers": {"content-type": "application/json"}, "body": json.dumps({',
  '        "name": form.get("name", [None])[0], "bodyType": type(body).__name__, "raw": list(raw) if raw else None,',
  '        "method": event["httpMethod"], "v2method": event["requestContext"]["http"]["method"], "path": event["rawPath"],',
  '        "query": event["queryStringParameters"], "cookies": event["cookies"], "version": event["version"],',
  '        "json": json.loads(json.dumps(event)) == event,',
  // REST API (payload 1.0) code reads headers in the case the client sent; HTTP API code lower-case.
  '        "headers": [event["headers"].get("Content-Type"), "Content-Type" in event["headers"] and event["headers"]["CONTENT-TYPE"], "Cookie" in event["headers"],',
  '                    event["multiValueHeaders"].get("COOKIE"), sorted(k for k in event["headers"] if k in ("content-type", "cookie"))],',
  '    })}',
);

function callsOf(url: string): Promise<Record<string, unknown>>[] {
  return [
    request(`${url}/submit?x=1`, { method: 'POST', body: Buffer.from('name=Ada&lang=en'), headers: { 'content-type': 'application/x-www-form-urlencoded', cookie: 'a=1; b=2' } }),
    request(`${url}/`, { method: 'GET' }),
    request(`${url}/bin`, { method: 'POST', body: Buffer.from([0xff, 0x00, 0xfe]) }),
  ].map(async (answer) => {
    const res = await answer;
    assert.equal(res.status, 200, res.body.toString());
    return JSON.parse(res.body.toString()) as Record<string, unknown>;
  });
}

async function assertLambdaEvents(url: string): Promise<void> {
  const [form, get, bin] = await Promise.all(callsOf(url));
  assert.deepEqual(form, {
    name: 'Ada', bodyType: 'str', raw: null, method: 'POST', v2method: 'POST', path: '/submit',
    query: { x: '1' }, cookies: ['a=1', 'b=2'], version: '2.0', json: true,
    headers: ['application/x-www-form-urlencoded', 'application/x-www-form-urlencoded', true, ['a=1; b=2'], ['content-type', 'cookie']],
  });
  assert.deepEqual([get!.bodyType, get!.query, get!.cookies, get!.name], ['NoneType', null, [], null], 'no body: None, as Lambda gives');
  assert.deepEqual([bin!.bodyType, bin!.raw], ['str', [0xff, 0x00, 0xfe]], 'a body that is not UTF-8: base64, isBase64Encoded');
}

const p = usePlatform({ poolSize: 1 });

describe('event: lambda (deployed through the API)', () => {
  it('gives the handler API Gateway\'s event: body a str (None when empty, base64 when binary), cookies, both payload formats\' names', async () => {
    const name = fnName('lambda-event');
    await createFunction(p.api, name);
    await upload(p.api, name, { 'main.py': LAMBDA }, { manifest: { kind: 'function', name, event: 'lambda' } });
    await deploy(p.api, name);
    await assertLambdaEvents(`${p.url}/fn/${name}`);
  });

  it('without it the handler gets the platform\'s event (body bytes), as before', async () => {
    const name = fnName('platform-event');
    await createFunction(p.api, name);
    await upload(p.api, name, { 'main.py': py('def handler(event, context):', '    return {"bodyType": type(event["body"]).__name__}') });
    await deploy(p.api, name);
    const res = await request(`${p.url}/fn/${name}/`, { method: 'POST', body: Buffer.from('x') });
    assert.deepEqual(JSON.parse(res.body.toString()), { bodyType: 'bytes' });
  });
});

const dirName = fnName('lambda-dir');
const g = useGateway({ [dirName]: { files: { 'main.py': LAMBDA }, manifest: 'event: lambda' } });

describe('event: lambda (a functions directory)', () => {
  it('gives the handler the same event', async () => {
    await assertLambdaEvents(`${g.url}/fn/${dirName}`);
  });
});
