/**
 * Red team round 45: a function set the platform's own answer headers on its answer. With
 * `x-fp-result-omitted: 99999999` beside a small body, the CLI and the console said the body was not
 * kept (an async run's stored result, a test invoke) while it was; `x-fp-sandbox: off` made the CLI
 * warn that the platform runs unsandboxed; `x-fp-result-headers-omitted` claimed headers were
 * dropped. Every `x-fp-*` name on an answer is the platform's (ADR 0244): the gateway drops a
 * function's own, from a handler's answer and an ASGI app's alike, on `/fn/`, a test invoke and an
 * async run's stored result.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { createFunction, deploy, fnName, py, sleep, upload, usePlatform } from './platform-harness.js';

const FORGED = [['x-fp-result-omitted', '99999999'], ['X-FP-Sandbox', 'off'], ['x-fp-result-headers-omitted', '7'], ['x-fp-anything', 'forged'], ['x-fpkept', 'yes']] as const;
const HANDLER = py(
  'def handler(event, context):',
  `    return {"statusCode": 200, "headers": ${JSON.stringify(Object.fromEntries(FORGED))}, "body": "small"}`,
);
const APP = py(
  'async def app(scope, receive, send):',
  '    if scope["type"] != "http":',
  '        return',
  `    headers = [(k.encode(), v.encode()) for k, v in ${JSON.stringify(FORGED)}]`,
  '    await send({"type": "http.response.start", "status": 200, "headers": headers})',
  '    await send({"type": "http.response.body", "body": b"small"})',
);

const h = usePlatform({ poolSize: 1 });

function platformNames(headers: Iterable<string>): string[] {
  return [...headers].map((n) => n.toLowerCase()).filter((n) => n.startsWith('x-fp-'));
}

describe('attack: a function\'s own x-fp-* answer headers', () => {
  for (const [kind, files, entrypoint] of [['handler', { 'main.py': HANDLER }, undefined], ['ASGI app', { 'main.py': APP }, 'main:app']] as const) {
    it(`a ${kind}'s are dropped on /fn/, a test invoke and an async run's stored result; its other headers go out`, { timeout: 60_000 }, async () => {
      const name = fnName('xfp');
      await createFunction(h.api, name);
      await upload(h.api, name, files, entrypoint === undefined ? {} : { entrypoint });
      await deploy(h.api, name);

      const direct = await fetch(`${h.url}/fn/${name}/`);
      assert.equal(direct.status, 200);
      assert.equal(await direct.text(), 'small');
      assert.deepEqual(platformNames(direct.headers.keys()), []);
      assert.equal(direct.headers.get('x-fpkept'), 'yes');

      const test = await h.api.call('POST', `/functions/${name}/invoke`, {});
      assert.equal(test.status, 200, JSON.stringify(test.body));
      assert.deepEqual(platformNames(Object.keys(test.body.headers as object)), []);
      assert.equal(test.body.body, 'small');

      const queued = (await (await fetch(`${h.url}/async/${name}/`, { method: 'POST', body: 'x' })).json()) as { runId: string };
      let run: { state?: string; result?: { headers: Record<string, string>; body?: unknown } } = {};
      for (let i = 0; i < 200 && run.state !== 'succeeded' && run.state !== 'failed'; i++) {
        if (i > 0) await sleep(100);
        run = ((await h.api.call('GET', `/runs/${queued.runId}`)).body as { run: typeof run }).run;
      }
      assert.equal(run.state, 'succeeded');
      assert.deepEqual(platformNames(Object.keys(run.result!.headers)), []);
      assert.equal(run.result!.body, 'small');
    });
  }
});
