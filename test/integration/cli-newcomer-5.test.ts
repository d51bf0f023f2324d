/**
 * New-user round 5 (docs/adr/0063-newcomer-round-5.md), what the CLI prints against a stand-in API.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { EXIT } from '../../cli/errors.js';
import { runCli } from '../helpers/cli-harness.js';
import { stubApi } from '../helpers/stub-api.js';

const BASE = 'http://127.0.0.1:8080';

describe('cli triggers <fn>: the http row names only the routes that take calls', () => {
  const api = stubApi('fp-cli-new5-', (req, res) => {
    const name = /^\/api\/v1\/functions\/([^/]+)\/triggers$/.exec(req.url ?? '')?.[1];
    const invocation = name === 'tick' ? 'async' : name === 'api' ? 'sync' : 'both';
    const http = { type: 'http', invokeUrl: `${BASE}/fn/${name}/`, ...(invocation === 'sync' ? {} : { asyncUrl: `${BASE}/async/${name}/` }), auth: 'public', invocation };
    const hook = { type: 'webhook', id: 'github', url: `${BASE}/hooks/${name}/github`, style: 'github', sync: false, path: '/webhooks/github' };
    res.writeHead(200, { 'content-type': 'application/json' });
    const cron = { type: 'cron', id: 'nightly', schedule: '0 5 * * *', timezone: 'UTC', method: 'GET', path: '/api/cron', active: true, nextFires: [Date.UTC(2030, 0, 1, 5)] };
    res.end(JSON.stringify({ items: name === 'hook' ? [http, hook, cron] : [http] }));
  });

  // New-user round 3: the webhook row's command was the bare `triggers rotate-secret …`, which no
  // shell finds; it is spelled as the CLI runs there, as deploy's `Webhook:` line is (ADR 0040).
  it("a webhook's row gives the command for its secret, spelled as the CLI runs", async () => {
    const r = await api.cli(['triggers', 'hook']);
    assert.equal(r.code, EXIT.OK, r.stderr);
    assert.match(r.stdout, /github signature; calls POST \/webhooks\/github; secret: (npx fastapi-platform|node \S+\/bin\/fastapi-platform\.js|fastapi-platform) triggers rotate-secret hook github\n/, r.stdout);
    // Where each tick calls the app (ADR 0175), then when it next fires.
    assert.match(r.stdout, /cron +nightly +0 5 \* \* \* \(UTC\) +calls GET \/api\/cron; next 2030-01-01T05:00:00\.000Z\n/, r.stdout);
  });

  it('an async-only function is not shown with its /fn/ URL (it answers 409 there)', async () => {
    const r = await api.cli(['triggers', 'tick']);
    assert.equal(r.code, EXIT.OK, r.stderr);
    assert.doesNotMatch(r.stdout, /\/fn\/tick\//, r.stdout);
    assert.match(r.stdout, /async: http:\/\/127\.0\.0\.1:8080\/async\/tick\//);
    assert.match(r.stdout, /async only \(\/fn\/ answers 409\)/);
  });

  it('a sync-only function shows /fn/ alone; one taking both shows both', async () => {
    const sync = await api.cli(['triggers', 'api']);
    assert.match(sync.stdout, /\/fn\/api\//);
    assert.doesNotMatch(sync.stdout, /async: /);
    assert.match(sync.stdout, /sync only \(\/async\/ answers 409\)/);
    const both = await api.cli(['triggers', 'web']);
    assert.match(both.stdout, /\/fn\/web\/ {2}async: http:\/\/127\.0\.0\.1:8080\/async\/web\//);
    assert.match(both.stdout, /auth public, sync and async/);
  });
});

describe('cli invoke: a JSON integer past 2^53 is shown and sent with its digits', () => {
  const BIG = '{"id":9007199254740993,"n":123456789012345678901234567890,"s":"9007199254740993"}';
  let testBody = '';
  const api = stubApi('fp-cli-new5-big-', (req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      if (req.url === '/fn/big/') {
        res.writeHead(200, { 'content-type': 'application/json', 'x-run-id': '0f7dee35-5030-4af2-b7e7-3a5ab8839732', 'x-cold-start': '0' });
        return res.end(BIG);
      }
      if (req.url === '/api/v1/functions/big/invoke') {
        testBody = Buffer.concat(chunks).toString('utf8');
        res.writeHead(200, { 'content-type': 'application/json' });
        return res.end(JSON.stringify({ runId: '0f7dee35-5030-4af2-b7e7-3a5ab8839732', status: 200, headers: { 'content-type': 'application/json' }, body: BIG, durationMs: 1, cold: false }));
      }
      res.writeHead(404, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ error: { code: 'ROUTE_NOT_FOUND', message: 'no', component: 'gateway' } }));
    });
  });

  it('the answer, indented and in --json, keeps 9007199254740993 (JSON.parse made it ...992)', async () => {
    const shown = await api.cli(['invoke', 'big']);
    assert.equal(shown.code, EXIT.OK, shown.stderr);
    assert.match(shown.stdout, /"id": 9007199254740993,\n {2}"n": 123456789012345678901234567890,/);
    const json = await api.cli(['invoke', 'big', '--json']);
    assert.equal((JSON.parse(json.stdout) as { body: unknown }).body, BIG);
  });

  it('--test sends such a payload as its bytes (bodyBase64), not as parsed JSON', async () => {
    const r = await api.cli(['invoke', 'big', '--test', '-d', '{"id": 9007199254740993}']);
    assert.equal(r.code, EXIT.OK, r.stderr);
    const sent = JSON.parse(testBody) as { body?: unknown; bodyBase64?: string };
    assert.equal(sent.body, undefined);
    assert.equal(Buffer.from(sent.bodyBase64 ?? '', 'base64').toString('utf8'), '{"id": 9007199254740993}');
    assert.match(r.stdout, /"id": 9007199254740993/);
    await api.cli(['invoke', 'big', '--test', '-d', '{"id": 1}']);
    assert.deepEqual((JSON.parse(testBody) as { body?: unknown }).body, { id: 1 });
  });
});

describe('cli invoke -d @FILE reads the file, as curl does', () => {
  const api = stubApi('fp-cli-new5-at-', (req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      res.writeHead(200, { 'content-type': 'application/json', 'x-run-id': '0f7dee35-5030-4af2-b7e7-3a5ab8839732', 'x-cold-start': '0' });
      res.end(JSON.stringify({ got: Buffer.concat(chunks).toString('utf8'), type: req.headers['content-type'] ?? null }));
    });
  });

  it('-d @payload.json sends the file\'s JSON (it sent the text "@payload.json")', async () => {
    writeFileSync(join(api.dir, 'payload.json'), '{"name": "Ada"}');
    const r = await api.cli(['invoke', 'echo', '-d', '@payload.json', '--json']);
    assert.equal(r.code, EXIT.OK, r.stderr);
    assert.deepEqual((JSON.parse(r.stdout) as { body: unknown }).body, { got: '{"name": "Ada"}', type: 'application/json' });
  });

  it('a missing file is a usage error naming it; -d with --file is given twice', async () => {
    const missing = await api.cli(['invoke', 'echo', '-d', '@nope.json']);
    assert.equal(missing.code, EXIT.USAGE);
    assert.match(missing.stderr, /cannot read the file of --data @nope\.json/);
    const twice = await api.cli(['invoke', 'echo', '-d', '@payload.json', '--file', 'payload.json']);
    assert.equal(twice.code, EXIT.USAGE);
    const plain = await api.cli(['invoke', 'echo', '-d', '@', '--json']);
    assert.deepEqual((JSON.parse(plain.stdout) as { body: { got: string } }).body.got, '@');
  });
});

describe('cli init: a function name made from the folder name is said', () => {
  it('init My_Fn says the function is named my-fn; init my-fn says nothing more', async (t) => {
    const root = mkdtempSync(join(tmpdir(), 'fp-cli-new5-init-'));
    t.after(() => rmSync(root, { recursive: true, force: true }));
    const odd = await runCli(['init', 'My_Fn'], { cwd: root });
    assert.equal(odd.code, EXIT.OK, odd.stderr);
    assert.match(odd.stderr, /the function is named "my-fn", not "My_Fn": a name is lowercase letters, digits and hyphens \(--name NAME/);
    const plain = await runCli(['init', 'my-fn'], { cwd: root });
    assert.equal(plain.code, EXIT.OK, plain.stderr);
    assert.doesNotMatch(plain.stderr, /is named/);
    const named = await runCli(['init', 'Other', '--name', 'other'], { cwd: root });
    assert.doesNotMatch(named.stderr, /is named/);
  });
});

describe('cli workspaces create Acme: the lower-case name is suggested', () => {
  it('says did you mean "acme", before any request (exit 2)', async () => {
    const r = await runCli(['workspaces', 'create', 'Acme', '--url', 'http://127.0.0.1:9', '--token', 'fpa_test']);
    assert.equal(r.code, EXIT.USAGE, r.stderr);
    assert.match(r.stderr, /"Acme" is not a workspace name: 1-30 lowercase letters, digits or hyphens; did you mean "acme"\?/);
    const odd = await runCli(['workspaces', 'create', 'a_b', '--url', 'http://127.0.0.1:9', '--token', 'fpa_test']);
    assert.doesNotMatch(odd.stderr, /did you mean/);
  });
});
