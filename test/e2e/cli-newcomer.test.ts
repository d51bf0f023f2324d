/**
 * The first minutes of a newcomer, as README's quickstart runs them (`npm start` is `up --demo`):
 * every command the CLI prints as a next step runs as written (no `fastapi-platform` on PATH after
 * `npm start`), `invoke --query` encodes a query for you, and a run id's first digits as `logs`
 * prints them open the run (docs/adr/0040-runnable-hints.md).
 */
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { createHmac } from 'node:crypto';
import { accessSync, chmodSync, closeSync, constants, existsSync, openSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
import { request } from 'node:http';
import { after, before, describe, it } from 'node:test';
import { BIN, ROOT, spawnCli } from '../helpers/cli-harness.js';

const skip = existsSync(join(ROOT, 'dist', 'platform', 'start.js')) ? false : 'the platform is not built';

/** PATH without any directory that holds a `fastapi-platform` (as on a fresh clone after `npm start`). */
function pathWithoutCli(): string {
  return (process.env.PATH ?? '').split(delimiter).filter((dir) => {
    try { accessSync(join(dir, 'fastapi-platform'), constants.X_OK); return false; } catch { return true; }
  }).join(delimiter);
}

// The suite's budget ends a hang only: 46 s in CI, 125-134 s beside a Schemathesis run at a load of
// 15-20 on 2 cores, where 120 s cancelled its last tests (test/README.md, "Where the time goes").
describe('a newcomer after npm start', { skip, timeout: 300_000 }, () => {
  let work = '';
  let env: Record<string, string> = {};
  let up: ChildProcess | undefined;
  let demo = '';

  before(async () => {
    work = mkdtempSync(join(tmpdir(), 'fp-newcomer-'));
    env = { FP_CONFIG_DIR: join(work, 'config'), HOME: work, PATH: pathWithoutCli() };
    up = spawn(process.execPath, [BIN, 'up', '--demo', '--state-dir', join(work, 'state'), '--port', '0'], { cwd: ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] });
    let err = '';
    up.stderr!.on('data', (b: Buffer) => { err += b.toString(); });
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`up --demo did not finish its demo in 60 s:\n${demo}\n${err}`)), 60_000);
      up!.stdout!.on('data', (b: Buffer) => {
        demo += b.toString();
        if (demo.includes('Press Ctrl-C to stop.')) { clearTimeout(timer); resolve(); }
      });
      up!.on('exit', (code) => reject(new Error(`up exited with ${code}:\n${demo}\n${err}`)));
    });
  });
  after(async () => {
    if (up && up.exitCode === null) {
      const exited = new Promise((r) => up!.on('exit', r));
      up.kill('SIGTERM');
      await exited;
    }
    rmSync(work, { recursive: true, force: true });
  });

  it('up --demo ends with commands that run as written, and says how to start your own function', () => {
    assert.match(demo, /^Its runs:\s+npx fastapi-platform runs hello$/m, demo);
    assert.match(demo, /npx fastapi-platform init my-fn/, demo);
    // Whether context.db works here is said up front (no FerretDB on this test's PATH and HOME: none).
    assert.match(demo, /^ {2}data: +(none: no FerretDB found and no FP_DATA_MONGO_URL .*is refused \(DATA_BACKEND_NOT_CONFIGURED\)|FerretDB, started here \(.*\), for context\.db .*)$/m, demo);
  });

  it('up on loopback answers this machine\'s host names only: a DNS-rebinding page\'s name is 421 HOST_NOT_LOCAL (ADR 0122)', async () => {
    const port = Number(/is running at http:\/\/127\.0\.0\.1:(\d+)/.exec(demo)?.[1]);
    assert.ok(port > 0, demo);
    const asHost = (host: string) => new Promise<[number, string]>((done, fail) => {
      const req = request({ host: '127.0.0.1', port, path: '/fn/hello/', headers: { host } }, (res) => {
        let body = '';
        res.on('data', (c: Buffer) => { body += c.toString(); });
        res.on('end', () => done([res.statusCode ?? 0, body]));
      });
      req.on('error', fail).end();
    });
    const [status, body] = await asHost(`rebind.attacker.test:${port}`);
    assert.equal(status, 421, body);
    assert.equal((JSON.parse(body) as { error: { code: string } }).error.code, 'HOST_NOT_LOCAL');
    for (const local of [`127.0.0.1:${port}`, `localhost:${port}`, `hello.localhost:${port}`]) assert.equal((await asHost(local))[0], 200, local);
  });

  it('a second up on the same state directory is refused, naming the running one (ADR 0055)', async () => {
    const second = await spawnCli(['up', '--state-dir', join(work, 'state'), '--port', '0'], { cwd: ROOT, env, timeoutMs: 30_000 });
    assert.equal(second.code, 1, second.stdout + second.stderr);
    assert.match(second.stderr, /the platform of .*state is already running at http:\/\/127\.0\.0\.1:\d+: use that one .* \[STATE_DIR_IN_USE\]/);
    // The first one is untouched: still served, and still the CLI's.
    assert.equal((await spawnCli(['functions'], { env })).code, 0);
  });

  it("init's next steps name the CLI as the user can run it from the function's folder", async () => {
    const outside = await spawnCli(['init', join(work, 'outside')], { cwd: ROOT, env });
    assert.equal(outside.code, 0, outside.stderr);
    assert.match(outside.stdout, new RegExp(`^  node ${BIN.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')} validate$`, 'm'), outside.stdout);
    assert.doesNotMatch(outside.stdout, /^  (npx )?fastapi-platform validate$/m);

    const bin = join(work, 'bin');
    mkdirSync(bin);
    writeFileSync(join(bin, 'fastapi-platform'), '#!/bin/sh\n');
    chmodSync(join(bin, 'fastapi-platform'), 0o755);
    const linked = await spawnCli(['init', 'linked'], { cwd: work, env: { ...env, PATH: `${bin}${delimiter}${env.PATH}` } });
    assert.equal(linked.code, 0, linked.stderr);
    assert.match(linked.stdout, /^  fastapi-platform validate$/m, linked.stdout);
  });

  it('invoke --query encodes the parameters and adds them to --path', async () => {
    const r = await spawnCli(['invoke', 'hello', '--query', 'name=Ada Lovelace', '--path', '/?x=1', '--json'], { env });
    assert.equal(r.code, 0, r.stderr);
    const answer = JSON.parse(r.stdout) as { body: { message: string } };
    assert.equal(answer.body.message, 'hello, Ada Lovelace', r.stdout);
    const bad = await spawnCli(['invoke', 'hello', '--query', '=x'], { env });
    assert.equal(bad.code, 2, bad.stderr);
  });

  it('runs <first digits of a run id> shows that run; a prefix of none says so with its code', async () => {
    const full = /cold start \(init [^)]*\)\s+·\s+run ([0-9a-f-]{36})/.exec(demo)?.[1];
    assert.ok(full, demo);
    const short = await spawnCli(['runs', full.slice(0, 8), '--json'], { env });
    assert.equal(short.code, 0, short.stderr);
    assert.equal((JSON.parse(short.stdout) as { run: { runId: string } }).run.runId, full);
    const shown = await spawnCli(['runs', 'show', full.slice(0, 8)], { env });
    assert.equal(shown.code, 0, shown.stderr);
    assert.match(shown.stdout, new RegExp(`^run\\s+${full}$`, 'm'));
    const none = await spawnCli(['runs', 'show', 'ffffffff'], { env });
    assert.equal(none.code, 4);
    assert.match(none.stderr, /\[RUN_NOT_FOUND\]/, none.stderr);
  });

  it('a webhook template gets its secret from the CLI (triggers rotate-secret) and a signed delivery is accepted', async () => {
    const dir = join(work, 'hook');
    const init = await spawnCli(['init', dir, '--name', 'hook', '--template', 'webhook'], { env });
    assert.equal(init.code, 0);
    assert.match(readFileSync(join(dir, 'main.py'), 'utf8'), /triggers rotate-secret hook github/);
    // "Next:" deploys it with its invoke token, as its docstring says: public, its /async/ route ran
    // an unsigned post as a delivery.
    assert.match(init.stdout, /^ {2}\S.* deploy --auth token$/m, init.stdout);
    const deployed = await spawnCli(['deploy', '--auth', 'token'], { cwd: dir, env, timeoutMs: 60_000 });
    assert.equal(deployed.code, 0, deployed.stderr);
    assert.match(deployed.stdout, /its secret: node \S*fastapi-platform\.js triggers rotate-secret hook github/, deployed.stdout);

    const listed = await spawnCli(['triggers', 'hook', '--json'], { env });
    assert.equal(listed.code, 0, listed.stderr);
    const hook = (JSON.parse(listed.stdout) as { items: { type: string; id?: string; url?: string }[] }).items.find((t) => t.type === 'webhook');
    assert.equal(hook?.id, 'github', listed.stdout);

    const rotated = await spawnCli(['triggers', 'rotate-secret', 'hook', 'github', '--grace', '0s', '--json'], { env });
    assert.equal(rotated.code, 0, rotated.stderr);
    const { secret } = JSON.parse(rotated.stdout) as { secret: string };
    assert.match(secret, /^whsec_/);
    const body = '{"zen":"hi"}';
    const res = await fetch(hook!.url!, { method: 'POST', body, headers: { 'content-type': 'application/json', 'x-hub-signature-256': `sha256=${createHmac('sha256', secret).update(body).digest('hex')}` } });
    assert.equal(res.status, 202, await res.text());
    // Unsigned, or signed with something else: the refusal names the header expected and where the secret comes from.
    const unsigned = await fetch(hook!.url!, { method: 'POST', body, headers: { 'content-type': 'application/json' } });
    assert.equal(unsigned.status, 401);
    const missing = (await unsigned.json()) as { error: { code: string; message: string } };
    assert.equal(missing.error.code, 'WEBHOOK_SIGNATURE_MISSING');
    assert.match(missing.error.message, /no X-Hub-Signature-256 header \(a github-style trigger\); the sender signs each delivery's body with the trigger's secret \(its owner gets it with `fastapi-platform triggers rotate-secret hook github`/, missing.error.message);
    const wrong = await fetch(hook!.url!, { method: 'POST', body, headers: { 'content-type': 'application/json', 'x-hub-signature-256': `sha256=${createHmac('sha256', 'not-it').update(body).digest('hex')}` } });
    const invalid = (await wrong.json()) as { error: { code: string; message: string } };
    assert.equal(invalid.error.code, 'WEBHOOK_SIGNATURE_INVALID');
    assert.match(invalid.error.message, /the X-Hub-Signature-256 signature matches no secret in force \(rotated since\?/, invalid.error.message);
    // Of the wrong shape (GitHub's old `sha1=`): said as such, not as a wrong secret.
    const sha1 = await fetch(hook!.url!, { method: 'POST', body, headers: { 'content-type': 'application/json', 'x-hub-signature': 'sha1=0', 'x-hub-signature-256': `sha1=${createHmac('sha1', secret).update(body).digest('hex')}` } });
    const malformed = (await sha1.json()) as { error: { code: string; message: string } };
    assert.equal(malformed.error.code, 'WEBHOOK_SIGNATURE_INVALID');
    assert.match(malformed.error.message, /the X-Hub-Signature-256 header is not of the form `sha256=<64 hex digits>` \(a github-style trigger\)/, malformed.error.message);

    // The owner sees the three refusals (no run was made for them) where the trigger is listed.
    const after = await spawnCli(['triggers', 'hook', '--json'], { env });
    const refused = (JSON.parse(after.stdout) as { items: { type: string; refused?: { count: number; last: { at: number; code: string; detail?: string } } | null }[] }).items.find((t) => t.type === 'webhook')?.refused;
    assert.equal(refused?.count, 3, after.stdout);
    assert.equal(refused?.last.code, 'WEBHOOK_SIGNATURE_INVALID');
    assert.equal(refused?.last.detail, 'malformed');
    assert.ok(Math.abs(Date.now() - refused!.last.at) < 60_000, after.stdout);
    const table = await spawnCli(['triggers', 'hook'], { env });
    assert.match(table.stdout, /refused 3 since the platform started, last \d+s ago: WEBHOOK_SIGNATURE_INVALID \(malformed header\)/, table.stdout);

    const unknown = await spawnCli(['triggers', 'rotate-secret', 'hook', 'nope'], { env });
    assert.equal(unknown.code, 4);
    assert.match(unknown.stderr, /\[TRIGGER_NOT_FOUND\]/);
  });

  it("dev's banner names the CLI as it runs from the function's folder", async () => {
    const dir = join(work, 'devfn');
    assert.equal((await spawnCli(['init', dir, '--name', 'devfn'], { env })).code, 0);
    const dev = spawn(process.execPath, [BIN, 'dev', '--port', '0'], { cwd: dir, env, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    try {
      await new Promise<void>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`dev printed no API line in 30 s:\n${out}`)), 30_000);
        const take = (b: Buffer): void => { out += b.toString(); if (/API: .*\n/.test(out)) { clearTimeout(timer); resolve(); } };
        dev.stdout!.on('data', take);
        dev.stderr!.on('data', take);
      });
    } finally {
      const exited = new Promise((r) => dev.on('exit', r));
      dev.kill('SIGTERM');
      await exited;
    }
    assert.ok(out.includes(` node ${BIN} runs …`), out);
  });

  it("an async run's timeline says when the next attempt is as a time, not epoch milliseconds", async () => {
    const dir = join(work, 'flaky');
    assert.equal((await spawnCli(['init', dir, '--name', 'flaky', '--template', 'worker'], { env })).code, 0);
    writeFileSync(join(dir, 'main.py'), 'def handler(event, context):\n    if context.attempt < 2:\n        raise RuntimeError("boom")\n    return {"attempt": context.attempt}\n');
    writeFileSync(join(dir, 'platform.yaml'), 'kind: function\nname: flaky\nentrypoint: main:handler\ninvocation: async\nretry:\n  maxAttempts: 3\n  backoff: 100ms\n');
    const deployed = await spawnCli(['deploy'], { cwd: dir, env, timeoutMs: 60_000 });
    assert.equal(deployed.code, 0, deployed.stderr);
    const waited = await spawnCli(['invoke', 'flaky', '--async', '--wait', '-d', '{}', '--json'], { env, timeoutMs: 60_000 });
    assert.equal(waited.code, 0, waited.stderr);
    const { runId } = JSON.parse(waited.stdout) as { runId: string };
    const shown = await spawnCli(['runs', runId], { env });
    assert.equal(shown.code, 0, shown.stderr);
    assert.match(shown.stdout, /retried .*attempt 2 at \d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z/, shown.stdout);
    assert.doesNotMatch(shown.stdout, /at \d{13}/, shown.stdout);
    // An async-only function called without --async: refused (409), and the CLI says what works.
    const sync = await spawnCli(['invoke', 'flaky', '-d', '{}'], { env });
    assert.equal(sync.code, 4, sync.stderr); // the platform refused it (ADR 0174)
    assert.match(sync.stdout + sync.stderr, /INVOCATION_MODE_NOT_ALLOWED/);
    assert.match(sync.stderr, /"flaky" is invocation: async in its platform\.yaml: invoke it with --async/, sync.stderr);
    // Without --wait: the bare run id on stdout (for scripts), and on stderr what to do with it.
    const queued = await spawnCli(['invoke', 'flaky', '--async', '-d', '{}'], { env });
    assert.equal(queued.code, 0, queued.stderr);
    assert.match(queued.stdout, /^[0-9a-f-]{36}\n$/, queued.stdout);
    assert.match(queued.stderr, new RegExp(`^Queued\\. Its state, attempts and result: .*runs ${queued.stdout.trim()} {2}\\(or invoke with --wait\\)$`, 'm'), queued.stderr);
    // functions show names only the URL that takes its calls.
    const shown2 = await spawnCli(['functions', 'show', 'flaky'], { env });
    assert.equal(shown2.code, 0, shown2.stderr);
    assert.doesNotMatch(shown2.stdout, /^URL: /m, shown2.stdout);
    assert.match(shown2.stdout, /^Async: +http:\/\/\S+\/async\/flaky/m, shown2.stdout);
    assert.match(shown2.stdout, /^Calls: +async only \(the other route answers 409 INVOCATION_MODE_NOT_ALLOWED/m, shown2.stdout);
    // A run that fails every attempt: --wait shows the last attempt's exception, as a sync call's failure does.
    writeFileSync(join(dir, 'main.py'), 'def handler(event, context):\n    raise ValueError("bad input \\x1b]0;title\\x07")\n');
    assert.equal((await spawnCli(['deploy'], { cwd: dir, env, timeoutMs: 60_000 })).code, 0);
    const failed = await spawnCli(['invoke', 'flaky', '--async', '--wait', '-d', '{}'], { env, timeoutMs: 60_000 });
    assert.equal(failed.code, 1, failed.stderr);
    assert.match(failed.stdout, /^error \(attempt 3\): ValueError: bad input \\x1b\]0;title\\x07 {2}\(main\.py:2\)$/m, failed.stdout);
    assert.doesNotMatch(failed.stdout, /\x1b/);
  });

  it('an error of the CLI itself ends with its stable code, as API errors do', async () => {
    const r = await spawnCli(['runs', '--url', 'http://127.0.0.1:1'], { env });
    assert.equal(r.code, 5);
    assert.match(r.stderr, /^error: cannot reach the platform at .* \[UNREACHABLE\]$/m, r.stderr);
    assert.match(r.stderr, /Start it with `npm start` in the repository/, r.stderr);
    const usage = await spawnCli(['logs'], { env });
    assert.equal(usage.code, 2);
    assert.doesNotMatch(usage.stderr, /\[USAGE\]/);
  });

  it('--url at a FastAPI app of your own (not the platform) says so with BAD_RESPONSE, not a stack trace; the platform\'s answers carry FP-API', async () => {
    // Before: `FP_URL=http://127.0.0.1:8000` (the user's own app under uvicorn) answered the API's
    // paths with JSON of its own: "unexpected error: TypeError: page.items is not iterable" and a
    // stack trace; where it answered 404, "GET /api/v1/functions answered 404 [HTTP_404]".
    const app = join(work, 'own-app');
    mkdirSync(app, { recursive: true });
    writeFileSync(join(app, 'catchall.py'), 'from fastapi import FastAPI\napp = FastAPI()\n@app.get("/{path:path}")\ndef anything(path: str):\n    return {"path": path}\n');
    writeFileSync(join(app, 'rootonly.py'), 'from fastapi import FastAPI\napp = FastAPI()\n@app.get("/")\ndef root():\n    return {"hello": "world"}\n');
    for (const module of ['catchall', 'rootonly']) {
      const uvicorn = spawn(join(ROOT, '.venv', 'bin', 'python'), ['-m', 'uvicorn', `${module}:app`, '--port', '0'], { cwd: app, stdio: ['ignore', 'ignore', 'pipe'] });
      try {
        const url = await new Promise<string>((resolve, reject) => {
          let said = '';
          const timer = setTimeout(() => reject(new Error(`uvicorn did not start: ${said}`)), 30_000);
          uvicorn.stderr!.on('data', (b: Buffer) => {
            said += b.toString();
            const m = /running on (http:\/\/127\.0\.0\.1:\d+)/.exec(said);
            if (m) { clearTimeout(timer); resolve(m[1]!); }
          });
        });
        for (const argv of [['functions'], ['functions', 'show', 'x'], ['usage', 'x']]) {
          const r = await spawnCli([...argv, '--url', url], { env: { ...env, FP_TOKEN: 'fpa_x' } });
          assert.equal(r.code, 4, `${module} ${argv.join(' ')}: ${r.stderr}`);
          assert.match(r.stderr, new RegExp(`^error: the server at ${url.replace(/\./g, '\\.')} is not a fastapi-platform .*FP-API header.* \\[BAD_RESPONSE\\]$`, 'm'), r.stderr);
          assert.doesNotMatch(r.stderr, /unexpected error|TypeError|    at /, r.stderr);
        }
      } finally {
        uvicorn.kill('SIGKILL');
      }
    }
    const port = Number(/is running at http:\/\/127\.0\.0\.1:(\d+)/.exec(demo)?.[1]);
    for (const path of ['/api/v1/functions', '/api/v1/no-such-route', '/api/v1/health']) {
      const res = await fetch(`http://127.0.0.1:${port}${path}`);
      await res.arrayBuffer();
      assert.equal(res.headers.get('fp-api'), 'v1', path);
    }
  });

  it('a reverse proxy\'s own 413 (a body limit below the platform\'s) is named as the proxy\'s, not "not a fastapi-platform" (ops round 5)', async () => {
    // A proxy that passes everything to the platform but refuses a body past 4 KiB as nginx does at
    // its default (1m): an HTML 413 without FP-API.
    const port = Number(/is running at http:\/\/127\.0\.0\.1:(\d+)/.exec(demo)?.[1]);
    const { createServer } = await import('node:http');
    const proxy = createServer((req, res) => {
      if (Number(req.headers['content-length'] ?? 0) > 4096) {
        res.writeHead(413, { 'content-type': 'text/html' }).end('<html><head><title>413 Request Entity Too Large</title></head></html>');
        req.resume();
        return;
      }
      const upstream = request({ host: '127.0.0.1', port, method: req.method, path: req.url, headers: req.headers }, (answer) => {
        res.writeHead(answer.statusCode ?? 502, answer.headers);
        answer.pipe(res);
      });
      // A connection the platform or the CLI drops mid-request must not throw in the test process.
      upstream.on('error', () => res.destroy());
      req.pipe(upstream);
    });
    await new Promise<void>((resolve) => proxy.listen(0, '127.0.0.1', resolve));
    try {
      const url = `http://127.0.0.1:${(proxy.address() as { port: number }).port}`;
      const dir = join(work, 'bigfile');
      mkdirSync(dir, { recursive: true });
      writeFileSync(join(dir, 'main.py'), 'def handler(event, context):\n    return 1\n');
      writeFileSync(join(dir, 'data.txt'), 'x'.repeat(64 * 1024));
      writeFileSync(join(dir, 'platform.yaml'), 'kind: function\nname: bigfile\nentrypoint: main:handler\n');
      const token = (JSON.parse(readFileSync(join(env.FP_CONFIG_DIR!, 'credentials.json'), 'utf8')) as { token: string }).token;
      const r = await spawnCli(['deploy', dir, '--url', url], { env: { ...env, FP_TOKEN: token } });
      assert.equal(r.code, 4, r.stderr);
      assert.match(r.stderr, /a server in front of the platform at .* \(a reverse proxy\) refused PUT \/api\/v1\/blobs\/\w+ as too large .*client_max_body_size.* \[HTTP_413\]$/m, r.stderr);
      assert.doesNotMatch(r.stderr, /is not a fastapi-platform/, r.stderr);
    } finally {
      proxy.close();
    }
  });

  it('rollback of a function with one version says there is nothing to roll back to, not "name a version"', async () => {
    const r = await spawnCli(['rollback', 'hello'], { env });
    assert.equal(r.code, 4, r.stderr);
    assert.match(r.stderr, /only version, so there is nothing to roll back to yet: deploy a new version first \[NO_PREVIOUS_VERSION\]/, r.stderr);
  });

  it('validate and deploy in a folder without platform.yaml give the one problem and what to do', async () => {
    const empty = join(work, 'empty');
    mkdirSync(empty);
    for (const command of ['validate', 'deploy']) {
      const r = await spawnCli([command], { cwd: empty, env });
      assert.equal(r.code, 3, r.stderr);
      const errors = r.stderr.split('\n').filter((l) => l.startsWith('error:'));
      assert.equal(errors.length, 1, r.stderr);
      assert.match(errors[0]!, /platform\.yaml: not found in .*: this is not a function folder; cd into yours, or create one here with `node .*bin\/fastapi-platform\.js init \.`/, r.stderr);
    }
  });

  it('invoke < payload.json sends the file; a pipe without - is not dropped silently', async () => {
    const dir = join(work, 'echo');
    mkdirSync(dir);
    writeFileSync(join(dir, 'main.py'), 'def handler(event, context):\n    return {"method": event["method"], "body": event.json() if event["body"] else None}\n');
    writeFileSync(join(dir, 'platform.yaml'), 'kind: function\nname: echo\nentrypoint: main:handler\n');
    const deployed = await spawnCli(['deploy'], { cwd: dir, env, timeoutMs: 60_000 });
    assert.equal(deployed.code, 0, deployed.stderr);

    const payload = join(work, 'payload.json');
    writeFileSync(payload, '{"name": "Redirected"}');
    const fd = openSync(payload, 'r');
    const child = spawn(process.execPath, [BIN, 'invoke', 'echo', '--json'], { cwd: ROOT, env, stdio: [fd, 'pipe', 'pipe'] });
    closeSync(fd);
    let stdout = '';
    child.stdout!.on('data', (b: Buffer) => { stdout += b.toString(); });
    assert.equal(await new Promise((r) => child.on('close', r)), 0, stdout);
    assert.deepEqual((JSON.parse(stdout) as { body: unknown }).body, { method: 'POST', body: { name: 'Redirected' } });

    const piped = await spawnCli(['invoke', 'echo', '--json'], { env, stdin: '{"name": "Piped"}' });
    assert.equal(piped.code, 0, piped.stderr);
    assert.deepEqual((JSON.parse(piped.stdout) as { body: unknown }).body, { method: 'GET', body: null });
    assert.match(piped.stderr, /stdin is not read without `-`/, piped.stderr);
  });

  it('invoking a paused function, or one never deployed, says what to do', async () => {
    const pause = await spawnCli(['functions', 'pause', 'hello'], { cwd: ROOT, env });
    assert.equal(pause.code, 0, pause.stderr);
    assert.match(pause.stdout, /Resume: npx fastapi-platform functions resume hello$/m, pause.stdout);
    const paused = await spawnCli(['invoke', 'hello'], { cwd: ROOT, env });
    assert.equal(paused.code, 4); // the platform refused it (ADR 0174)
    assert.match(paused.stderr, /"hello" is paused: resume it with `npx fastapi-platform functions resume hello`/, paused.stderr);
    assert.equal((await spawnCli(['functions', 'resume', 'hello'], { env })).code, 0);

    const config = JSON.parse(readFileSync(join(env.FP_CONFIG_DIR!, 'credentials.json'), 'utf8')) as { url: string; token: string };
    const created = await fetch(`${config.url}/api/v1/functions`, { method: 'POST', headers: { authorization: `Bearer ${config.token}`, 'content-type': 'application/json' }, body: JSON.stringify({ name: 'empty-fn' }) });
    assert.equal(created.status, 201, await created.text());
    const listed = await spawnCli(['functions'], { env });
    assert.match(listed.stdout, /^empty-fn\s+not deployed\s+-\s/m, listed.stdout);
    const none = await spawnCli(['invoke', 'empty-fn'], { cwd: ROOT, env });
    assert.equal(none.code, 4);
    assert.match(none.stderr, /"empty-fn" exists but has no deployed version yet: deploy it from its folder with `npx fastapi-platform deploy`/, none.stderr);
  });

  it('a call past limits.timeout says which setting gives it more time (newcomer round 12)', async () => {
    const dir = join(work, 'sleepy');
    mkdirSync(dir);
    writeFileSync(join(dir, 'main.py'), 'import time\ndef handler(event, context):\n    time.sleep(30)\n');
    writeFileSync(join(dir, 'platform.yaml'), 'kind: function\nname: sleepy\nentrypoint: main:handler\nlimits:\n  timeout: 1s\n');
    const deployed = await spawnCli(['deploy'], { cwd: dir, env, timeoutMs: 60_000 });
    assert.equal(deployed.code, 0, deployed.stderr);
    const slow = await spawnCli(['invoke', 'sleepy'], { cwd: ROOT, env, timeoutMs: 60_000 });
    assert.equal(slow.code, 1, slow.stderr);
    assert.match(slow.stdout, /FUNCTION_TIMEOUT/, slow.stdout);
    assert.match(slow.stderr, /"sleepy" ran past its limits\.timeout: raise it in its platform\.yaml \(`limits: \{timeout: 2m\}`\) and deploy/, slow.stderr);
    assert.match(slow.stderr, /Details and its logs: npx fastapi-platform runs [0-9a-f-]{36}/, slow.stderr);
  });

  it('runs replay takes the first digits of a failed run id too', async () => {
    const dir = join(work, 'fails');
    mkdirSync(dir);
    writeFileSync(join(dir, 'main.py'), 'def handler(event, context):\n    raise RuntimeError("always")\n');
    writeFileSync(join(dir, 'platform.yaml'), 'kind: function\nname: fails\nentrypoint: main:handler\ninvocation: async\nretry:\n  maxAttempts: 1\n');
    assert.equal((await spawnCli(['deploy'], { cwd: dir, env, timeoutMs: 60_000 })).code, 0);
    const failed = await spawnCli(['invoke', 'fails', '--async', '--wait', '-d', '{}', '--json'], { env, timeoutMs: 60_000 });
    assert.equal(failed.code, 1, failed.stdout);
    const { runId } = JSON.parse(failed.stdout) as { runId: string };
    const replayed = await spawnCli(['runs', 'replay', runId.slice(0, 8), '--json'], { env });
    assert.equal(replayed.code, 0, replayed.stderr);
    assert.equal((JSON.parse(replayed.stdout) as { replayOf: string }).replayOf, runId);
    // After a fix, `replay --wait` shows the replayed run's result, as `invoke --async --wait` does
    // (it was "Unknown option '--wait'": the user polled `runs <id>`).
    writeFileSync(join(dir, 'main.py'), 'def handler(event, context):\n    return {"fixed": True}\n');
    assert.equal((await spawnCli(['deploy'], { cwd: dir, env, timeoutMs: 60_000 })).code, 0);
    const waited = await spawnCli(['runs', 'replay', runId, '--wait'], { env, timeoutMs: 60_000 });
    assert.equal(waited.code, 0, waited.stdout + waited.stderr);
    assert.match(waited.stdout, /^run [0-9a-f-]{36} {2}· {2}succeeded {2}· {2}1 attempt {2}· {2}HTTP 200$/m, waited.stdout);
    assert.match(waited.stdout, /"fixed": true/);
    const json = JSON.parse((await spawnCli(['runs', 'replay', runId, '--wait', '--json'], { env, timeoutMs: 60_000 })).stdout) as { ok: boolean; function: string; state: string };
    assert.deepEqual([json.ok, json.function, json.state], [true, 'fails', 'succeeded']);
  });

  it("${VAR} in env: validate says the shell's environment, deploy says when a default was used, the template says where values come from", async () => {
    const dir = join(work, 'shellenv');
    assert.equal((await spawnCli(['init', dir, '--name', 'shellenv'], { env })).code, 0);
    const scaffold = readFileSync(join(dir, 'platform.yaml'), 'utf8');
    assert.doesNotMatch(scaffold, /PLATFORM_VAR/, scaffold);
    assert.match(scaffold, /\$\{VAR\}.*shell/, scaffold);
    writeFileSync(join(dir, 'platform.yaml'), 'kind: function\nname: shellenv\nentrypoint: main:handler\nenv:\n  GREETING: ${U3_GREETING:-hello}\n  KEY: ${U3_NOT_SET}\n');
    const invalid = await spawnCli(['validate'], { cwd: dir, env });
    assert.equal(invalid.code, 3, invalid.stderr);
    assert.match(invalid.stderr, /env\.KEY: references \$\{U3_NOT_SET\}, which is not set in this shell's environment/, invalid.stderr);
    assert.doesNotMatch(invalid.stderr, /platform's environment/, invalid.stderr);

    writeFileSync(join(dir, 'platform.yaml'), 'kind: function\nname: shellenv\nentrypoint: main:handler\nenv:\n  GREETING: ${U3_GREETING:-hello}\n');
    const set = await spawnCli(['deploy', '--json'], { cwd: dir, env: { ...env, U3_GREETING: 'salut' }, timeoutMs: 60_000 });
    assert.equal(set.code, 0, set.stderr);
    assert.deepEqual((JSON.parse(set.stdout) as { envFromEnvironment: unknown }).envFromEnvironment, [{ key: 'GREETING', from: ['U3_GREETING'], unset: [] }]);
    // The same folder deployed from a shell without the variable: its value quietly became the default.
    const unset = await spawnCli(['deploy'], { cwd: dir, env, timeoutMs: 60_000 });
    assert.equal(unset.code, 0, unset.stderr);
    assert.match(unset.stderr, /env GREETING ← \$\{U3_GREETING\}: not set in this shell, so its default "hello" was used/, unset.stderr);
    assert.match(unset.stdout, /changed env\.GREETING/, unset.stdout);
    // `env <fn>` lists, as `env list <fn>` does (and `triggers <fn>`, `runs <fn>`).
    const listed = await spawnCli(['env', 'shellenv'], { env });
    assert.equal(listed.code, 0, listed.stderr);
    assert.match(listed.stdout, /^GREETING +env +hello$/m, listed.stdout);
  });

  it('deploy says when the folder\'s .env holds values the deployed function does not have (deploy never reads it)', async () => {
    const dir = join(work, 'dotenvfn');
    assert.equal((await spawnCli(['init', dir, '--name', 'dotenvfn'], { env })).code, 0);
    writeFileSync(join(dir, '.env'), 'GREETING=hi\n');
    const first = await spawnCli(['deploy'], { cwd: dir, env, timeoutMs: 60_000 });
    assert.equal(first.code, 0, first.stderr);
    assert.match(first.stderr, /\.env has values the deployed function does not \(GREETING\): deploy does not read \.env \(dev does, for local runs\); `(npx fastapi-platform|node \S+fastapi-platform\.js) env push dotenvfn` applies it/, first.stderr);
    assert.equal((await spawnCli(['env', 'push', 'dotenvfn', '--yes'], { cwd: dir, env })).code, 0);
    writeFileSync(join(dir, 'platform.yaml'), 'kind: function\nname: dotenvfn\nentrypoint: main:handler\nenv:\n  GREETING: hi\n');
    const same = await spawnCli(['deploy'], { cwd: dir, env, timeoutMs: 60_000 });
    assert.equal(same.code, 0, same.stderr);
    assert.doesNotMatch(same.stderr, /\.env has values/, same.stderr);
  });

  it('deploy names the values of .env.production (or any .env.* but templates) that the function lacks: never uploaded (apps round 11)', async () => {
    const dir = join(work, 'dotenvprod');
    assert.equal((await spawnCli(['init', dir, '--name', 'dotenvprod'], { env })).code, 0);
    writeFileSync(join(dir, '.env.production'), 'SENTRY_DSN=https://k@sentry.example/1\n');
    writeFileSync(join(dir, '.env.example'), 'SENTRY_DSN=\n');
    const r = await spawnCli(['deploy'], { cwd: dir, env, timeoutMs: 60_000 });
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stderr, /\.env\.production has values the deployed function does not \(SENTRY_DSN\): deploy never uploads \.env files.*`(npx fastapi-platform|node \S+fastapi-platform\.js) env push dotenvprod --file \.env\.production` applies it/, r.stderr);
    assert.doesNotMatch(r.stderr, /\.env\.example|^\.env has/m, r.stderr);
    assert.equal((await spawnCli(['env', 'push', 'dotenvprod', '--file', '.env.production', '--yes'], { cwd: dir, env })).code, 0);
  });

  // FastAPI's full-stack template (apps round 22): the backend's settings read `../.env` (the repository's)
  // and default SECRET_KEY to secrets.token_urlsafe(32); deployed from backend/, the platform had none of the
  // file and each instance signed JWTs with its own key, and deploy said neither.
  it("deploy names a ../.env the code reads, and a settings key made at import until the function has it as a secret (apps round 22)", async () => {
    const repo = join(work, 'fullrepo');
    const dir = join(repo, 'backend');
    assert.equal((await spawnCli(['init', dir, '--name', 'fullrepo'], { env })).code, 0);
    // Not imported by the handler (the runtime need not have pydantic-settings): validate reads every file.
    writeFileSync(join(dir, 'config.py'), 'import secrets\nfrom pydantic_settings import BaseSettings, SettingsConfigDict\n\n'
      + 'class Settings(BaseSettings):\n    model_config = SettingsConfigDict(env_file="../.env", extra="ignore")\n'
      + '    SECRET_KEY: str = secrets.token_urlsafe(32)\n    FIRST_SUPERUSER_PASSWORD: str = "changethis"\n');
    writeFileSync(join(repo, '.env'), 'SECRET_KEY=changethis\nFIRST_SUPERUSER_PASSWORD=changethis\n');
    const first = await spawnCli(['deploy', 'backend'], { cwd: repo, env, timeoutMs: 60_000 });
    assert.equal(first.code, 0, first.stderr);
    assert.match(first.stderr, /warning: config\.py:6: SECRET_KEY's default is a key made at import, and the function's env does not set SECRET_KEY/, first.stderr);
    assert.match(first.stderr, /\.\.\/\.env has values the deployed function does not \(SECRET_KEY, FIRST_SUPERUSER_PASSWORD\): the code reads it \(env_file, load_dotenv\) from outside the folder.*env push fullrepo --file \.env` applies it/, first.stderr);
    assert.equal((await spawnCli(['env', 'set', 'fullrepo', 'SECRET_KEY=k1', '--secret'], { cwd: repo, env })).code, 0);
    const again = await spawnCli(['deploy', 'backend', '--force'], { cwd: repo, env, timeoutMs: 60_000 });
    assert.equal(again.code, 0, again.stderr);
    assert.doesNotMatch(again.stderr, /SECRET_KEY's default/, again.stderr);
    assert.match(again.stderr, /\.\.\/\.env has values the deployed function does not \(FIRST_SUPERUSER_PASSWORD\)/, again.stderr);
  });

  it("an entrypoint that names no function of the module suggests the one meant", async () => {
    const dir = join(work, 'nearmiss');
    mkdirSync(dir);
    writeFileSync(join(dir, 'main.py'), 'def helper(x):\n    return x\n\n\ndef handle(event, context):\n    return {}\n');
    writeFileSync(join(dir, 'platform.yaml'), 'kind: function\nname: nearmiss\nentrypoint: main:handler\n');
    const r = await spawnCli(['validate'], { cwd: dir, env });
    assert.equal(r.code, 3, r.stderr);
    assert.match(r.stderr, /main\.py defines no 'handler' at module level; did you mean 'handle' \(main\.py:5\)\? entrypoint: main:handle/, r.stderr);
    writeFileSync(join(dir, 'main.py'), 'def run(event, context):\n    return {}\n');
    const far = await spawnCli(['validate'], { cwd: dir, env });
    assert.match(far.stderr, /defines no 'handler' at module level \(its functions: run\)/, far.stderr);
  });

  it('rollback says what it does not restore (settings and env), and deploy names its cron triggers', async () => {
    const dir = join(work, 'rolly');
    mkdirSync(dir);
    writeFileSync(join(dir, 'main.py'), 'def handler(event, context):\n    return {"v": 1}\n');
    writeFileSync(join(dir, 'platform.yaml'), 'kind: function\nname: rolly\nentrypoint: main:handler\ntriggers:\n  - type: cron\n    schedule: "0 0 * * *"\n    timezone: Europe/Berlin\n');
    const first = await spawnCli(['deploy'], { cwd: dir, env, timeoutMs: 60_000 });
    assert.equal(first.code, 0, first.stderr);
    // The hints name the CLI as it runs here (ADR 0040): outside the repository, without it on PATH, `node <bin>`.
    const fp = `node ${BIN}`.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
    assert.match(first.stdout, new RegExp(`^Cron:  cron-0  0 0 \\* \\* \\* \\(Europe/Berlin\\); each tick is an async run: ${fp} runs rolly  \\(next ticks: ${fp} triggers rolly\\)$`, 'm'), first.stdout);
    assert.match(first.stdout, new RegExp(`^Async: .*retried, see \`${fp} runs <runId>\`\\)$`, 'm'), first.stdout);
    writeFileSync(join(dir, 'main.py'), 'def handler(event, context):\n    return {"v": 2}\n');
    assert.equal((await spawnCli(['deploy'], { cwd: dir, env, timeoutMs: 60_000 })).code, 0);
    const back = await spawnCli(['rollback', 'rolly'], { env });
    assert.equal(back.code, 0, back.stderr);
    assert.match(back.stdout, /^Rolled back "rolly" from version 2 to version 1\.$/m, back.stdout);
    assert.match(back.stdout, /code, triggers and data binding of version 1; settings \(limits, invocation, auth\), env and secrets stay as they are/, back.stdout);
    // The numbers `rollback --to` takes, and the deploy log the paused hint points at (ADR 0055).
    const shown = await spawnCli(['functions', 'show', 'rolly'], { env });
    assert.equal(shown.code, 0, shown.stderr);
    assert.match(shown.stdout, /^Versions \(newest 2; `rollback rolly --to N` makes one active\):$/m, shown.stdout);
    assert.match(shown.stdout, /^ {2}1 +active +ok +\d{4}-\d\d-\d\d \d\d:\d\d +admin +\+2 ~0 -0/m, shown.stdout);
    assert.match(shown.stdout, /^ {2}\S+ \S+ +rollback +2 → 1 +admin$/m, shown.stdout);
    const json = JSON.parse((await spawnCli(['functions', 'show', 'rolly', '--json'], { env })).stdout) as { versions: { version: number }[]; deploys: { action: string }[] };
    assert.deepEqual(json.versions.map((v) => v.version), [2, 1]);
    assert.equal(json.deploys[0]!.action, 'rollback');
    const again = await spawnCli(['rollback', 'rolly', '--to', '1'], { env });
    assert.equal(again.code, 0, again.stderr);
    assert.match(again.stdout, /^Version 1 of "rolly" was already the active one: it stays active/m, again.stdout);
    const typo = await spawnCli(['rollback', 'rolly', '--to', 'v1'], { env });
    assert.equal(typo.code, 2);
    assert.match(typo.stderr, /--to must be a version number \(1, 2, …; `npx fastapi-platform versions rolly` lists them\), got "v1"/);
  });

  it('an async result too large to keep is said to be so, not printed as an empty body', async () => {
    const dir = join(work, 'bigresult');
    mkdirSync(dir);
    writeFileSync(join(dir, 'main.py'), 'def handler(event, context):\n    return "x" * (7 * 1024 * 1024)\n');
    writeFileSync(join(dir, 'platform.yaml'), 'kind: function\nname: bigresult\nentrypoint: main:handler\ninvocation: async\n');
    assert.equal((await spawnCli(['deploy'], { cwd: dir, env, timeoutMs: 60_000 })).code, 0);
    const waited = await spawnCli(['invoke', 'bigresult', '--async', '--wait'], { env, timeoutMs: 60_000 });
    assert.equal(waited.code, 0, waited.stderr);
    assert.match(waited.stdout, /^\(body not kept: 7169 KiB, over the 256 KiB an async run's result keeps on this platform, FP_ASYNC_RESULT_MAX_BYTES;/m, waited.stdout);
    const runId = /^run ([0-9a-f-]{36})/m.exec(waited.stdout)?.[1];
    assert.ok(runId, waited.stdout);
    const shown = await spawnCli(['runs', runId], { env });
    assert.match(shown.stdout, /result {4}HTTP 200 \(attempt 1\)\n {2}\(body not kept: 7169 KiB/, shown.stdout);
  });

  it("a workspace at its functions quota says how to free or raise it", async () => {
    const made = await spawnCli(['workspaces', 'create', 'tiny', '--functions', '1'], { env });
    assert.equal(made.code, 0, made.stderr);
    for (const name of ['one', 'two']) {
      const dir = join(work, `tiny-${name}`);
      mkdirSync(dir);
      writeFileSync(join(dir, 'main.py'), 'def handler(event, context):\n    return {}\n');
      writeFileSync(join(dir, 'platform.yaml'), `kind: function\nname: ${name}\nentrypoint: main:handler\n`);
      const r = await spawnCli(['deploy', '-w', 'tiny'], { cwd: dir, env, timeoutMs: 60_000 });
      if (name === 'one') { assert.equal(r.code, 0, r.stderr); continue; }
      assert.equal(r.code, 4, r.stderr);
      assert.match(r.stderr, /is at its functions quota \(1 of 1\): delete a function \(`node \S+\/bin\/fastapi-platform\.js functions delete <name>`\), or an admin raises it \(`node \S+\/bin\/fastapi-platform\.js workspaces set tiny --functions N`\) \[QUOTA_EXCEEDED\]/, r.stderr);
    }
  });

  it('functions rotate-token gives a token function a new invoke token, saved for invoke; the old one stops working', async () => {
    const dir = join(work, 'priv');
    mkdirSync(dir);
    writeFileSync(join(dir, 'main.py'), 'def handler(event, context):\n    return {"ok": True}\n');
    writeFileSync(join(dir, 'platform.yaml'), 'kind: function\nname: priv\nentrypoint: main:handler\n');
    const deployed = await spawnCli(['deploy', '--auth', 'token', '--json'], { cwd: dir, env, timeoutMs: 60_000 });
    assert.equal(deployed.code, 0, deployed.stderr);
    const { invokeToken: first, invokeUrl } = JSON.parse(deployed.stdout) as { invokeToken: string; invokeUrl: string };
    const rotated = await spawnCli(['functions', 'rotate-token', 'priv'], { env });
    assert.equal(rotated.code, 0, rotated.stderr);
    // Piped, the token alone on stdout, the sentence on stderr (ADR 0199).
    const second = /^(fpi_\S+)$/.exec(rotated.stdout.trimEnd())?.[1];
    assert.ok(second !== undefined && second !== first, rotated.stdout);
    // The command it names is the one this CLI runs as, as deploy's line does (journey round 11).
    assert.match(rotated.stderr, /saved to the credentials file for `(npx fastapi-platform|node \S+\/bin\/fastapi-platform\.js) invoke`/, rotated.stderr);
    assert.equal((await fetch(invokeUrl, { headers: { authorization: `Bearer ${first}` } })).status, 401);
    assert.equal((await fetch(invokeUrl, { headers: { authorization: `Bearer ${second}` } })).status, 200);
    const invoked = await spawnCli(['invoke', 'priv'], { env });
    assert.equal(invoked.code, 0, invoked.stderr);
    const publicOne = await spawnCli(['functions', 'rotate-token', 'hello'], { env });
    assert.equal(publicOne.code, 2, publicOne.stderr);
    assert.match(publicOne.stderr, /"hello" is public \(auth public\): it has no invoke token to rotate/, publicOne.stderr);
  });

  it('a body over the sync limit: refused before the function, said so (not "warm", no stack to look for)', async () => {
    const big = join(work, 'big.json');
    writeFileSync(big, JSON.stringify({ x: 'a'.repeat(7 * 1024 * 1024) }));
    // The gateway answers 413 as soon as the head announces the length and closes: the CLI, still
    // writing, either reads the answer or sees the connection cut. Both say what happened.
    for (let i = 0; i < 3; i++) {
      const r = await spawnCli(['invoke', 'hello', '--file', big], { env });
      assert.equal(r.code, 4, r.stderr); // refused, read or cut (ADR 0174)
      assert.doesNotMatch(r.stderr, /UNREACHABLE|Is it running/, r.stderr);
      if (r.stdout.startsWith('HTTP 413')) {
        assert.match(r.stdout, /^HTTP 413 {2}· {2}\S+ ms {2}· {2}run [0-9a-f-]{36}$/m, r.stdout);
        assert.match(r.stderr, /The body was refused before the function ran: a sync call takes up to 6 MiB/, r.stderr);
        assert.doesNotMatch(r.stderr, /Details, logs and the stack/, r.stderr);
      } else {
        assert.match(r.stderr, /closed the connection while the 7\.0 MiB body was being sent: most likely refused as too large .* \[PAYLOAD_TOO_LARGE\]$/m, r.stderr);
      }
    }
  });

  // Last: it restarts the platform.
  it('after a restart, usage still names the last successful run (the run store has it)', async () => {
    const exited = new Promise((r) => up!.on('exit', r));
    up!.kill('SIGTERM');
    await exited;
    up = spawn(process.execPath, [BIN, 'up', '--state-dir', join(work, 'state'), '--port', '0'], { cwd: ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`up did not restart in 30 s:\n${out}`)), 30_000);
      up!.stdout!.on('data', (b: Buffer) => { out += b.toString(); if (out.includes('Press Ctrl-C to stop.')) { clearTimeout(timer); resolve(); } });
    });
    // The token is not shown again: the banner says where it is, for the console's sign-in.
    assert.match(out, /^ {2}console: +http:\/\/\S+ \(sign in with the admin token: "token" in .*config\/credentials\.json\)$/m, out);
    const r = await spawnCli(['usage', 'hello', '--window', '24h', '--json'], { env });
    assert.equal(r.code, 0, r.stderr);
    const { usage } = JSON.parse(r.stdout) as { usage: { lastSuccess: { runId: string; at: number } | null } };
    assert.ok(usage.lastSuccess !== null, r.stdout);
    const newest = await spawnCli(['runs', 'hello', '--status', 'succeeded', '-n', '1', '--json'], { env });
    assert.equal(usage.lastSuccess.runId, (JSON.parse(newest.stdout) as { items: { runId: string }[] }).items[0]!.runId);
  });
});
