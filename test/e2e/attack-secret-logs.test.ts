/**
 * Red team round 47: a function's secret values in its own logs and errors. A `viewer` reads a
 * function's logs, run records and errors but never its secrets (names only); a line that printed
 * one (at import, in a call, in an exception's message or traceback) kept it in clear for every
 * viewer to read. The pool masks each secret's value (at least 6 characters) as `[secret NAME]`
 * before any line or error is kept (protocol/secret-mask.ts).
 *
 * Round 48: a value of several lines (a PEM key) printed with `print` arrives as one log line per
 * line of it, none holding the whole value: kept in clear; and a value the runtime cut through (a
 * line past the call's 256 KiB of logs, an error text past 64 Ki characters) kept its first part
 * in clear before the mark, its last part after the error's mark.
 *
 * ADR 0258: a value printed in a common encoding (base64 after a `user:` prefix, base64url, hex,
 * URL-encoded) or split over two lines of one write was kept in clear.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { deployed, fnName, py, sleep, usePlatform } from './platform-harness.js';

const KEY = 'sk-live-0d4f1b9a7c3e5b2a';
const LONGER = `${KEY}-and-more`;
const SHORT = 'pin42';
const APP = py(
  'import os, sys',
  'print("loading with", os.environ["API_KEY"], flush=True)',
  'def handler(event, context):',
  '    print("calling with key", os.environ["API_KEY"], "and", os.environ["LONGER"], "pin", os.environ["PIN"])',
  '    print("to stderr", os.environ["API_KEY"], file=sys.stderr)',
  '    if "fail" in str(event):',
  '        raise ValueError("refused: " + os.environ["API_KEY"])',
  '    return {"ok": True}',
);

const h = usePlatform({ poolSize: 1 });

describe('attack: a function\'s secrets in its logs and errors', () => {
  it('a viewer reads [secret NAME] where the value was, in the init, call and error lines and the error itself', { timeout: 60_000 }, async () => {
    const name = fnName('sl');
    await deployed(h.api, name, { 'main.py': APP, 'platform.yaml': `kind: function\nname: ${name}\nerrors: verbose\n` }, { secrets: { API_KEY: KEY, LONGER, PIN: SHORT } });
    const ok = await fetch(`${h.url}/fn/${name}/`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' });
    assert.equal(ok.status, 200, await ok.text());
    const failed = await fetch(`${h.url}/fn/${name}/`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"fail": true}' });
    assert.equal(failed.status, 500);
    const runId = failed.headers.get('x-run-id')!;
    const answer = await failed.text();
    assert.ok(!answer.includes(KEY), answer);

    let text = '';
    for (let i = 0; i < 100 && !text.includes('to stderr'); i++) {
      if (i > 0) await sleep(100);
      text = JSON.stringify((await h.api.call('GET', `/functions/${name}/logs`)).body);
    }
    assert.ok(!text.includes(KEY.slice(3)), `a secret value in the logs: ${text}`);
    assert.match(text, /loading with \[secret API_KEY\]/);
    assert.match(text, /calling with key \[secret API_KEY\] and \[secret LONGER\] pin pin42/); // the longest first; a short one is not masked
    assert.match(text, /to stderr \[secret API_KEY\]/);

    const run = JSON.stringify((await h.api.call('GET', `/runs/${runId}`)).body);
    assert.ok(!run.includes(KEY.slice(3)), `a secret value in the run: ${run}`);
    assert.match(run, /refused: \[secret API_KEY\]/);
  });

  it('round 48: a multi-line key printed line by line, and a value the runtime cut through, leave no part in clear', { timeout: 60_000 }, async () => {
    const name = fnName('sl');
    const pem = ['-----BEGIN PRIVATE KEY-----', 'MC4CAQAwBQYDK2VwBCIEILp+QHhpcg1i1pYLrms8iKqkLPSrP21MJxliy3gWoKs+', '-----END PRIVATE KEY-----', ''].join('\n');
    const cutApp = py(
      'import os',
      'from fp_runtime import capture',
      'def handler(event, context):',
      '    key = os.environ["API_KEY"]',
      '    print("could not load", os.environ["SIGNING_KEY"])',
      '    # a line that ends 10 characters into a value where the runtime cuts it to the call\'s log budget',
      '    room = capture.MAX_BYTES - capture.current().size - capture.LINE_OVERHEAD - len(capture.CUT_MARK.encode())',
      '    print("x" * (room - 10) + os.environ["LONGER"])',
      '    # an error text cut in its middle (after 32 Ki characters), 10 characters into the key',
      '    raise ValueError("y" * (32 * 1024 - 10) + key + "z" * 40000)',
    );
    await deployed(h.api, name, { 'main.py': cutApp, 'platform.yaml': `kind: function\nname: ${name}\n` }, { secrets: { API_KEY: KEY, LONGER, SIGNING_KEY: pem } });
    const failed = await fetch(`${h.url}/fn/${name}/`);
    assert.equal(failed.status, 500, await failed.text());
    const run = JSON.stringify((await h.api.call('GET', `/runs/${failed.headers.get('x-run-id')!}`)).body);
    const around = (at: number) => run.slice(Math.max(0, at - 80), at + 80);
    assert.ok(run.includes('could not load [secret SIGNING_KEY]'), around(run.indexOf('could not load')));
    assert.ok(!run.includes('MC4CAQAw'), `a line of the private key in the run: ${around(run.indexOf('MC4CAQAw'))}`);
    assert.ok(run.includes('[line truncated]') && run.includes('characters cut'), 'the runtime cut neither the line nor the error');
    for (const part of [KEY.slice(0, 10), KEY.slice(10)]) assert.ok(!run.includes(part), `a part of a cut secret in the run: ${around(run.indexOf(part))}`);
  });
  it('ADR 0258: a value printed base64-encoded (after a prefix), in hex, URL-encoded or split over two lines of one write leaves no part in clear', { timeout: 60_000 }, async () => {
    const name = fnName('sl');
    const app = py(
      'import base64, os, urllib.parse',
      'def handler(event, context):',
      '    key = os.environ["API_KEY"]',
      '    print("Authorization: Basic " + base64.b64encode(("user:" + key).encode()).decode())',
      '    print("token", base64.urlsafe_b64encode(key.encode()).decode())',
      '    print("bytes", key.encode().hex())',
      '    print("GET /cb?key=" + urllib.parse.quote_plus(key + " x"))',
      '    print("first half " + key[:10] + "\\n" + key[10:] + " second half")',
      '    return {"ok": True}',
    );
    await deployed(h.api, name, { 'main.py': app, 'platform.yaml': `kind: function\nname: ${name}\n` }, { secrets: { API_KEY: KEY } });
    const ok = await fetch(`${h.url}/fn/${name}/`);
    assert.equal(ok.status, 200, await ok.text());
    const run = JSON.stringify((await h.api.call('GET', `/runs/${ok.headers.get('x-run-id')!}`)).body);
    const b64 = Buffer.from(`user:${KEY}`).toString('base64');
    for (const [form, part] of [['base64', b64.slice(8, 28)], ['base64url', Buffer.from(KEY).toString('base64url').slice(2, 22)], ['hex', Buffer.from(KEY).toString('hex').slice(4, 30)], ['split', KEY.slice(3, 10)], ['split', KEY.slice(10)]] as const) {
      assert.ok(!run.includes(part), `the ${form} form of a secret in the run: ${run}`);
    }
    for (const line of ['Authorization: Basic dXNlcjp', 'token [secret API_KEY]', 'bytes [secret API_KEY]', 'key=[secret API_KEY]', 'first half [secret API_KEY]', '[secret API_KEY] second half']) {
      assert.ok(run.includes(line), `${line} not in ${run}`);
    }
  });
});
