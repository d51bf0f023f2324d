/**
 * The CLI as a user runs it: `fastapi-platform up` in the background on a temp state directory and
 * a free port, then init → validate → deploy → invoke (cold, warm) → runs → redeploy (only the
 * changed file uploaded) → rollback, each a separate `node bin/fastapi-platform.js` process.
 * Skipped until the platform (dist/platform/start.js) is built.
 */
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { BIN, ROOT, spawnCli, type CliResult } from '../helpers/cli-harness.js';
import { writeWheel } from '../helpers/wheels.js';
import { errorOf, request } from './gateway-harness.js';

const START = join(ROOT, 'dist', 'platform', 'start.js');
const skip = existsSync(START) ? false : 'dist/platform/start.js is not built yet';
const EXIT = { OK: 0, FAILURE: 1, USAGE: 2, INVALID: 3, API: 4, UNREACHABLE: 5 };

interface Up {
  child: ChildProcess;
  url: string;
  started: Record<string, unknown>;
  /** Everything it printed on stdout so far. */
  output(): string;
  /** Sends SIGTERM; resolves with the exit code and the whole output. */
  stop(): Promise<{ code: number | null; stdout: string }>;
}

/** Starts `up --json` and waits for its `started` event. */
function startUp(args: string[], env: Record<string, string>): Promise<Up> {
  return new Promise((resolvePromise, reject) => {
    const child = spawn(process.execPath, [BIN, 'up', '--json', ...args], { cwd: ROOT, env: { PATH: process.env.PATH ?? '', ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    const exited = new Promise<number | null>((r) => child.on('exit', (code) => r(code)));
    const timer = setTimeout(() => reject(new Error(`up did not start in 30 s:\n${stdout}\n${stderr}`)), 30_000);
    child.stderr!.on('data', (b: Buffer) => { stderr += b.toString(); });
    child.stdout!.on('data', (b: Buffer) => {
      stdout += b.toString();
      const started = stdout.split('\n').map((l) => { try { return JSON.parse(l) as Record<string, unknown>; } catch { return null; } }).find((e) => e?.event === 'started');
      if (started) {
        clearTimeout(timer);
        resolvePromise({
          child, url: started.url as string, started,
          output: () => stdout,
          stop: async () => {
            child.kill('SIGTERM');
            return { code: await exited, stdout };
          },
        });
      }
    });
    void exited.then((code) => reject(new Error(`up exited with ${code}:\n${stdout}\n${stderr}`)));
  });
}

function json<T = Record<string, unknown>>(r: CliResult): T {
  try {
    return JSON.parse(r.stdout) as T;
  } catch {
    throw new Error(`not JSON (exit ${r.code}):\n${r.stdout}\n${r.stderr}`);
  }
}

async function eventually(check: () => Promise<boolean>, ms = 15_000): Promise<void> {
  const until = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > until) assert.fail('condition not met in time');
    await new Promise((r) => setTimeout(r, 100));
  }
}

describe('cli end to end', { skip, timeout: 360_000 }, () => {
  const name = `e2e-${randomBytes(3).toString('hex')}`;
  let work = '';
  let app = '';
  let env: Record<string, string> = {};
  const cli = (argv: string[], options: { cwd?: string; stdin?: string } = {}): Promise<CliResult> => spawnCli(argv, { env, ...options });
  let up: Up;
  /** A function folder `work/<sub>` for `<name>-<suffix>`: platform.yaml (its name, then `yaml`) and main.py. */
  const folder = (sub: string, suffix: string, main: string, yaml = ''): { dir: string; fn: string } => {
    const dir = join(work, sub);
    const fn = `${name}-${suffix}`;
    mkdirSync(dir);
    writeFileSync(join(dir, 'platform.yaml'), `kind: function\nname: ${fn}\n${yaml}`);
    writeFileSync(join(dir, 'main.py'), main);
    return { dir, fn };
  };

  before(async () => {
    work = mkdtempSync(join(tmpdir(), 'fp-cli-e2e-'));
    app = join(work, name);
    // HOME too, so nothing can reach the real ~/.config.
    env = { FP_CONFIG_DIR: join(work, 'config'), HOME: work };
    // Dependencies from a local wheel directory: no network (issue 10).
    writeWheel(join(work, 'wheels'), { name: 'alpha', version: '1.0', modules: { 'alpha.py': 'VALUE = "alpha-1.0"\n' } });
    // gamma brings delta-lib (as fastapi-limiter brings pyrate-limiter).
    writeWheel(join(work, 'wheels'), { name: 'gamma', version: '1.0', modules: { 'gamma.py': 'import delta_lib\nVALUE = "gamma"\n' }, requires: ['delta-lib'] });
    writeWheel(join(work, 'wheels'), { name: 'delta-lib', version: '1.0', modules: { 'delta_lib.py': 'VALUE = "delta"\n' } });
    // lambda-pack brings kappa-dist, which ships a module its name does not tell (as markdown-it-py ships markdown_it).
    writeWheel(join(work, 'wheels'), { name: 'lambda-pack', version: '1.0', modules: { 'lambda_pack.py': 'import omicron_kit\n' }, requires: ['kappa-dist'] });
    writeWheel(join(work, 'wheels'), { name: 'kappa-dist', version: '1.0', modules: { 'omicron_kit/__init__.py': 'VALUE = "omicron"\n' } });
    env = { ...env, FP_DEPS_INDEX_URL: 'none', FP_DEPS_FIND_LINKS: join(work, 'wheels') };
    up = await startUp(['--state-dir', join(work, 'state'), '--port', '0'], env);
  });
  after(async () => {
    await up?.stop();
    rmSync(work, { recursive: true, force: true });
  });

  it('up prints the URL and the admin token once, and saves them (mode 0600); the secrets key sits next to them', () => {
    assert.match(up.url, /^http:\/\/127\.0\.0\.1:\d+$/);
    assert.equal(up.started.secretsKey, join(env.FP_CONFIG_DIR!, 'secrets.key'));
    assert.equal(statSync(join(env.FP_CONFIG_DIR!, 'secrets.key')).mode & 0o777, 0o600);
    assert.equal(typeof up.started.adminToken, 'string');
    const file = join(env.FP_CONFIG_DIR!, 'credentials.json');
    assert.equal(statSync(file).mode & 0o777, 0o600);
    const saved = JSON.parse(readFileSync(file, 'utf8')) as { url: string; token: string };
    assert.deepEqual([saved.url, saved.token], [up.url, up.started.adminToken]);
  });

  it('a damaged credentials.json stops a command that needs it, not one given --url and --token', async () => {
    const config = join(work, 'damaged-config');
    mkdirSync(config);
    writeFileSync(join(config, 'credentials.json'), '{"url": ', { mode: 0o600 });
    const damaged = { ...env, FP_CONFIG_DIR: config };
    const refused = await spawnCli(['functions', '--json'], { env: damaged });
    assert.equal(json<{ error: { code: string } }>(refused).error.code, 'CREDENTIALS_INVALID');
    const given = await spawnCli(['functions', '--json', '--url', up.url, '--token', up.started.adminToken as string], { env: damaged });
    assert.equal(given.code, EXIT.OK, given.stderr);
    assert.match(given.stderr, /warning: .*credentials\.json is not valid JSON.*not needed here/);
  });

  it('localhost and 127.0.0.1 on one port get the saved token; another URL is told where the token is saved', async () => {
    const port = new URL(up.url).port;
    const local = await spawnCli(['functions', '--json', '--url', `http://localhost:${port}`], { env });
    assert.equal(local.code, EXIT.OK, local.stderr);
    // A profile saved for another platform: its token is not sent here, and the error says where it is.
    const config = join(work, 'other-config');
    mkdirSync(config);
    writeFileSync(join(config, 'credentials.json'), JSON.stringify({ url: 'http://127.0.0.1:1', token: 'elsewhere', invokeTokens: {} }), { mode: 0o600 });
    const other = await spawnCli(['functions', '--url', up.url], { env: { ...env, FP_CONFIG_DIR: config } });
    assert.equal(other.code, EXIT.API);
    assert.match(other.stderr, new RegExp(`saved token is for http://127\\.0\\.0\\.1:1, not sent to ${up.url.replace(/\./g, '\\.')} \\(another platform\\): use --url http://127\\.0\\.0\\.1:1, or \`(npx )?fastapi-platform login ${up.url.replace(/\./g, '\\.')}\` \\(it asks for the token\\) for this one\\.`));
  });

  it('init scaffolds and validate passes', async () => {
    assert.equal((await cli(['init', app])).code, EXIT.OK);
    const v = await cli(['validate'], { cwd: app });
    assert.equal(v.code, EXIT.OK, v.stderr);
    assert.match(v.stdout, /valid/);
  });

  it('deploy of broken code exits 3 and uploads nothing; invoking an unknown function fails', async () => {
    const broken = join(work, 'broken');
    mkdirSync(broken);
    writeFileSync(join(broken, 'platform.yaml'), `kind: function\nname: ${name}-broken\n`);
    writeFileSync(join(broken, 'main.py'), 'def handler(event, context)\n    return 1\n');
    const d = await cli(['deploy', broken, '--json']);
    assert.equal(d.code, EXIT.INVALID);
    assert.equal(json<{ problems: { kind: string; line: number }[] }>(d).problems[0]!.kind, 'syntax');
    // And the `error` every failing command's --json carries (docs/cli.md).
    assert.deepEqual(json<{ ok: boolean; error: unknown }>(d).error, { code: 'VALIDATION_FAILED', message: '1 problem found; nothing was uploaded', exitCode: EXIT.INVALID });
    // In text, counted as `validate` counts them (it said "2 problem(s)"); one typo is one problem (the entrypoint is not reported again).
    assert.match((await cli(['deploy', broken])).stdout, /^1 problem found; nothing was uploaded\.$/m);
    const i = await cli(['invoke', `${name}-broken`, '--json']);
    // Not found is the platform's refusal: exit 4 and `error.code`, as every command's (ADR 0174).
    assert.equal(i.code, EXIT.API);
    assert.equal(json<{ status: number; body: { error: { code: string } } }>(i).body.error.code, 'FUNCTION_NOT_FOUND');
    assert.deepEqual(json<{ error: { code: string; exitCode: number; status: number } }>(i).error, { code: 'FUNCTION_NOT_FOUND', message: json<{ body: { error: { message: string } } }>(i).body.error.message, exitCode: EXIT.API, status: 404 });
  });

  it('deploy creates the function and uploads every file', async () => {
    const d = await cli(['deploy', '--json'], { cwd: app });
    assert.equal(d.code, EXIT.OK, d.stdout + d.stderr);
    const r = json<{ created: boolean; version: number; uploaded: number; files: number; invokeUrl: string; hostUrl: string; changes: { added: string[] } }>(d);
    assert.deepEqual([r.created, r.version, r.uploaded, r.files], [true, 1, 3, 3]);
    assert.deepEqual(r.changes.added, ['main.py', 'payload.json', 'platform.yaml'], 'the tests init wrote stay local (.platformignore)');
    assert.equal(r.invokeUrl, `${up.url}/fn/${name}/`);
    assert.equal(r.hostUrl, `http://${name}.localhost:${new URL(up.url).port}/`, 'and at / of its own host');
    assert.match((await cli(['functions', 'show', name])).stdout, new RegExp(`^Host:\\s+http://${name}\\.localhost:\\d+/ `, 'm'));
  });

  it('invoke: cold, then warm, with run id and duration', async () => {
    const first = json<{ status: number; cold: boolean; runId: string; durationMs: number; body: { message: string } }>(await cli(['invoke', name, '--file', join(app, 'payload.json'), '--json']));
    assert.deepEqual([first.status, first.cold, first.body.message], [200, true, 'hello, Ada']);
    assert.ok(first.runId && first.durationMs > 0);
    const second = await cli(['invoke', name, '-'], { stdin: '{"name": "Bob"}' });
    assert.equal(second.code, EXIT.OK);
    assert.match(second.stdout, /^HTTP 200 .*warm.*run [0-9a-f-]{36}/);
    assert.match(second.stdout, /"hello, Bob"/);
    const test = json<{ status: number; runId: string }>(await cli(['invoke', name, '--test', '--data', '{"name":"T"}', '--json']));
    assert.equal(test.status, 200);
  });

  it("invoke and logs take the function of the folder they run in when no name is given", async () => {
    const here = json<{ status: number; body: { message: string } }>(await cli(['invoke', '--data', '{"name":"Here"}', '--json'], { cwd: app }));
    assert.deepEqual([here.status, here.body.message], [200, 'hello, Here']);
    const logs = await cli(['logs'], { cwd: app });
    assert.equal(logs.code, EXIT.OK, logs.stderr);
    assert.match(logs.stdout, /greeting Here/);
    const elsewhere = await cli(['logs'], { cwd: work });
    assert.equal(elsewhere.code, EXIT.USAGE);
    assert.match(elsewhere.stderr, /logs needs the function name.*or run it in a function's folder/);
  });

  it('runs lists the calls; runs <id> shows one with its logs', async () => {
    let items: { runId: string; function: string; status: string }[] = [];
    await eventually(async () => {
      items = json<{ items: typeof items }>(await cli(['runs', name, '--json'])).items;
      return items.length >= 3;
    });
    assert.ok(items.every((r) => r.function === name && r.status === 'succeeded'));
    const table = await cli(['runs', name, '--limit', '2']);
    assert.match(table.stdout, /RUN ID\s+FUNCTION\s+VERSION\s+TRIGGER\s+REQUEST\s+STATUS/);
    assert.match(table.stdout, /\shttp\s+(GET|POST) \//, 'each run says what started it');
    const cron = await cli(['runs', name, '--trigger', 'cron']);
    assert.deepEqual([cron.code, cron.stdout.trim()], [EXIT.OK, 'No cron runs.']);
    const http = json<{ items: { trigger: string }[] }>(await cli(['runs', name, '--trigger', 'http', '--json'])).items;
    assert.ok(http.length > 0 && http.every((r) => r.trigger === 'http'));
    assert.equal((await cli(['runs', name, '--trigger', 'nope'])).code, EXIT.USAGE);
    assert.match(table.stdout, /\s(GET|POST) \/\s/, 'each run says what was called');
    const detail = await cli(['runs', items[items.length - 1]!.runId]);
    assert.equal(detail.code, EXIT.OK);
    assert.match(detail.stdout, /request\s+(GET|POST) \//);
    assert.match(detail.stdout, /greeting Ada/);
    assert.match(detail.stdout, /start\s+cold/);
  });

  it('redeploy uploads only the changed file and prints the change', async () => {
    const main = join(app, 'main.py');
    writeFileSync(main, readFileSync(main, 'utf8').replace('f"hello, {name}"', 'f"hi, {name}"'));
    const d = await cli(['deploy', app]);
    assert.equal(d.code, EXIT.OK, d.stderr);
    assert.match(d.stdout, /~ main\.py/);
    assert.match(d.stdout, /Uploaded 1 of 3 files/);
    assert.match(d.stdout, /Version 2 deployed \(was 1\)/);
    await eventually(async () => json<{ body: { message: string } }>(await cli(['invoke', name, '-d', '{"name":"Ada"}', '--json'])).body.message === 'hi, Ada');
    const again = json<{ unchanged: boolean; uploaded: number }>(await cli(['deploy', app, '--json']));
    assert.deepEqual([again.unchanged, again.uploaded], [true, 0]);
  });

  it('a file executable in the folder runs on the platform (mode 0755; the others 0644); a change of mode alone is a new version', async () => {
    // Every deployed file was 0444 (later 0644; executables 0755): a script or binary shipped with the code failed with
    // PermissionError on every call (apps round of 2026-12-05).
    const { dir, fn } = folder('exec', 'exec', [
      'import subprocess',
      'def handler(event, context):',
      '    return subprocess.run(["./bin/tool.sh"], capture_output=True, text=True, check=True).stdout.strip()',
    ].join('\n') + '\n');
    mkdirSync(join(dir, 'bin'));
    writeFileSync(join(dir, 'bin', 'tool.sh'), '#!/bin/sh\necho "tool ran"\n', { mode: 0o755 });
    const d = await cli(['deploy', dir]);
    assert.equal(d.code, EXIT.OK, d.stderr);
    const ran = await cli(['invoke', fn, '--json']);
    assert.equal(json<{ body: unknown }>(ran).body, 'tool ran', ran.stdout + ran.stderr);
    const shown = json<{ versions: { version: number }[] }>(await cli(['functions', 'show', fn, '--json']));
    const state = join(work, 'state', 'code', fn, String(shown.versions[0]!.version));
    assert.equal(statSync(join(state, 'bin', 'tool.sh')).mode & 0o777, 0o755);
    assert.equal(statSync(join(state, 'main.py')).mode & 0o777, 0o644);
    // The same content without its x bit: a modified file, a new version.
    chmodSync(join(dir, 'bin', 'tool.sh'), 0o644);
    const again = json<{ unchanged: boolean; changes: { modified: string[] } }>(await cli(['deploy', dir, '--json']));
    assert.deepEqual([again.unchanged, again.changes.modified], [false, ['bin/tool.sh']]);
  });

  it('a ! line in .platformignore uploads a dot-folder (.well-known) the defaults leave out; .env never goes', async () => {
    // Dotfiles were never uploaded and nothing could say otherwise: an app's
    // static/.well-known/apple-app-site-association answered 404 (apps round of 2026-12-05).
    const { dir, fn } = folder('dots', 'dots', [
      'import os',
      'def handler(event, context):',
      '    return sorted(os.path.relpath(os.path.join(r, f), ".") for r, _, fs in os.walk(".") for f in fs if "__pycache__" not in r)',
    ].join('\n') + '\n');
    mkdirSync(join(dir, 'static', '.well-known'), { recursive: true });
    writeFileSync(join(dir, 'static', '.well-known', 'apple-app-site-association'), '{}');
    writeFileSync(join(dir, '.env'), 'SECRET=local-only\n');
    writeFileSync(join(dir, '.hidden'), 'x');
    writeFileSync(join(dir, '.platformignore'), '!.well-known/\n!.env\n');
    const d = await cli(['deploy', dir]);
    assert.equal(d.code, EXIT.OK, d.stderr);
    const listed = json<{ body: string[] }>(await cli(['invoke', fn, '--json'])).body;
    assert.deepEqual(listed, ['main.py', 'platform.yaml', 'static/.well-known/apple-app-site-association']);
  });

  it('deploy waits for declared dependencies with progress, and prints the build log when they fail', async () => {
    const dir = join(work, 'with-deps');
    mkdirSync(dir);
    writeFileSync(join(dir, 'platform.yaml'), `kind: function\nname: ${name}-deps\n`);
    // A process the function starts sees the dependencies too, as in a virtualenv (it had ModuleNotFoundError).
    writeFileSync(join(dir, 'main.py'), 'import alpha, subprocess, sys\ndef handler(event, context):\n'
      + '    child = subprocess.run([sys.executable, "-c", "import alpha; print(alpha.VALUE)"], capture_output=True, text=True)\n'
      + '    return {"alpha": alpha.VALUE, "child": child.stdout.strip() or child.stderr[-300:]}\n');
    writeFileSync(join(dir, 'requirements.txt'), 'alpha\n');
    const d = await cli(['deploy', dir, '--json']);
    assert.equal(d.code, EXIT.OK, d.stdout + d.stderr);
    assert.match(d.stderr, /dependencies: (queued|resolving|installing|compiling)/);
    assert.deepEqual(json<{ deps: { state: string; packages: unknown[] } }>(d).deps, { ...json<{ deps: Record<string, unknown> }>(d).deps, state: 'ready', packages: [{ name: 'alpha', version: '1.0', modules: ['alpha'] }] });
    assert.deepEqual(json<{ body: unknown }>(await cli(['invoke', `${name}-deps`, '--json'])).body, { alpha: 'alpha-1.0', child: 'alpha-1.0' });

    // The failing deploy also changes a setting: refused on the way, it must leave the function as it was.
    const timeoutOf = async (): Promise<number | undefined> => json<{ function: { limits: Record<string, number> } }>(await cli(['functions', 'show', `${name}-deps`, '--json'])).function.limits['timeoutMs'];
    const timeoutBefore = await timeoutOf();
    assert.equal(typeof timeoutBefore, 'number');
    writeFileSync(join(dir, 'platform.yaml'), `kind: function\nname: ${name}-deps\nlimits:\n  timeout: 7s\n`);
    // A marker holding a terminal escape is refused before anything is sent (a requirement is one
    // line with no control character: red team, second round of 2026-12-05), and shown escaped.
    writeFileSync(join(dir, 'requirements.txt'), 'alpha\nbeta ; os_name == "nt\x1b[2J"\n');
    const escaped = await cli(['deploy', dir]);
    assert.equal(escaped.code, EXIT.INVALID, escaped.stderr);
    assert.match(escaped.stderr, /requirements\.txt:2: .*control character/);
    assert.ok(!escaped.stderr.includes('\x1b'), 'no raw escape reaches the terminal');
    writeFileSync(join(dir, 'requirements.txt'), 'alpha\nno-such-package-here\n');
    const bad = await cli(['deploy', dir]);
    assert.equal(bad.code, EXIT.API, bad.stderr);
    assert.match(bad.stderr, /dependency build log/);
    assert.match(bad.stderr, /No matching distribution found for no-such-package-here/);
    assert.match(bad.stderr, /\[DEPS_NOT_FOUND\]/);
    assert.deepEqual(json<{ body: unknown }>(await cli(['invoke', `${name}-deps`, '--json'])).body, { alpha: 'alpha-1.0', child: 'alpha-1.0' });
    assert.notEqual(timeoutBefore, 7000);
    assert.equal(await timeoutOf(), timeoutBefore);
    // Refused on a first deploy: the function was created, and the refusal says so.
    const first = join(work, 'first-refused');
    mkdirSync(first);
    writeFileSync(join(first, 'platform.yaml'), `kind: function\nname: ${name}-firstbad\n`);
    writeFileSync(join(first, 'main.py'), 'def handler(event, context):\n    return 1\n');
    writeFileSync(join(first, 'requirements.txt'), 'no-such-package-here\n');
    const refusedFirst = await cli(['deploy', first]);
    assert.equal(refusedFirst.code, EXIT.API, refusedFirst.stderr);
    assert.match(refusedFirst.stderr, new RegExp(`The function "${name}-firstbad" was created and is not deployed: deploy again once this is fixed, or remove it with \`.*functions delete ${name}-firstbad\``));
  });

  it('deploy starts the version first: one that does not load is refused with its load\'s lines and traceback, the active one keeps serving; --no-check deploys it', async () => {
    const { dir, fn } = folder('start-check', 'chk', 'def handler(event, context):\n    return {"v": 1}\n');
    const ok = await cli(['deploy', dir]);
    assert.equal(ok.code, EXIT.OK, ok.stderr);
    assert.match(ok.stdout, /Start check: it loaded in [\d.]+ ms/);
    // The exception's text is the function's: a terminal escape in it is shown escaped.
    writeFileSync(join(dir, 'main.py'), 'print("reading settings")\nraise KeyError("DATABASE_URL \\x1b[31m")\ndef handler(event, context):\n    return {"v": 2}\n');
    const refused = await cli(['deploy', dir]);
    assert.equal(refused.code, EXIT.API, refused.stderr);
    assert.match(refused.stderr, /What its load printed \(last lines\):\n {2}reading settings\n/);
    assert.match(refused.stderr, /Traceback \(most recent call last\):/);
    assert.match(refused.stderr, /error: version 2 did not start: KeyError: .*DATABASE_URL \\x1b\[31m.* \(main\.py:2\); version 1 keeps serving\nFix it and deploy again \(`.*deploy .*--no-check` deploys it without this check/);
    assert.ok(!refused.stderr.includes('\x1b'), 'no raw escape reaches the terminal');
    assert.match(refused.stderr, /\[DEPLOY_START_FAILED\]/);
    // A KeyError that is not os.environ's gets no env hint.
    assert.doesNotMatch(refused.stderr, /which the function does not have/);
    assert.deepEqual(json<{ body: unknown }>(await cli(['invoke', fn, '--json'])).body, { v: 1 });
    const forced = await cli(['deploy', dir, '--no-check']);
    assert.equal(forced.code, EXIT.OK, forced.stderr);
    assert.doesNotMatch(forced.stdout, /Start check/);
    const failing = await cli(['invoke', fn, '--json']);
    assert.equal(failing.code, EXIT.FAILURE);
    assert.match(failing.stdout, /FUNCTION_INIT_FAILED/);
    // Back to version 1, checked as a deploy is.
    const back = await cli(['rollback', fn, '--to', '1']);
    assert.equal(back.code, EXIT.OK, back.stderr);
    assert.match(back.stdout, /Start check: it loaded in/);
  });

  it('a first deploy refused by the start check says the function was created, not deployed; functions show says so too', async () => {
    const { dir, fn } = folder('first-broken', 'first', 'raise RuntimeError("no config")\ndef handler(event, context):\n    return 1\n');
    const refused = await cli(['deploy', dir]);
    assert.equal(refused.code, EXIT.API, refused.stderr);
    // Line breaks between the error and the notes, not escaped ones.
    assert.match(refused.stderr, /error: version 1 did not start: RuntimeError: no config \(main\.py:1\); nothing was deployed\n\(The function ".*-first" was created and is not deployed/);
    assert.doesNotMatch(refused.stderr, /\\n/);
    const shown = await cli(['functions', 'show', fn]);
    assert.match(shown.stdout, new RegExp(`^${fn}  \\(not deployed, workspace default\\)`, 'm'));
    // The same folder again: the version made by the refused deploy is tried again, no new one.
    const again = await cli(['deploy', dir, '--json']);
    assert.equal(again.code, EXIT.API);
    const versions = json<{ versions: { version: number }[] }>(await cli(['functions', 'show', fn, '--json'])).versions;
    assert.deepEqual(versions.map((v) => v.version), [1]);
  });

  it('a refused deploy leaves the function\'s settings and env as they were (the serving version reads them), and names env it would have removed', async () => {
    const { dir, fn } = folder('start-env', 'senv', 'import os\nURL = os.environ["DB_URL"]\ndef handler(event, context):\n    return {"url": URL}\n', 'env:\n  DB_URL: "mongodb://one"\nlimits:\n  timeout: 10s\n');
    assert.equal((await cli(['deploy', dir])).code, EXIT.OK);
    assert.equal((await cli(['env', 'set', fn, 'EXTRA=kept'])).code, EXIT.OK);
    // v2 renames the variable (and its timeout) but reads a name that does not exist.
    writeFileSync(join(dir, 'platform.yaml'), `kind: function\nname: ${fn}\nenv:\n  DATABASE_URL: "mongodb://two"\nlimits:\n  timeout: 20s\n`);
    writeFileSync(join(dir, 'main.py'), 'import os\nURL = os.environ["EXTRA"] + os.environ["DATABASE_URLX"]\ndef handler(event, context):\n    return {"url": URL}\n');
    const refused = await cli(['deploy', dir]);
    assert.equal(refused.code, EXIT.API, refused.stderr);
    assert.match(refused.stderr, /\[DEPLOY_START_FAILED\]/);
    assert.match(refused.stderr, /This deploy also removes env DB_URL, EXTRA \(set by `env set` or `env push`, not in platform\.yaml's env\)/);
    // os.environ["EXTRA"] failed: the refusal says what sets env (apps round 13: only a traceback before).
    assert.match(refused.stderr, new RegExp(`It reads env EXTRA, which the function does not have: deploy sets platform\\.yaml's \`env:\` and does not read \\.env\\. Add it there, or set a secret with \`.*env set ${fn} EXTRA=… --secret\``));
    assert.match(refused.stderr, /\(The settings and env this deploy had changed were put back: the function is as it was\.\)/);
    assert.doesNotMatch(refused.stderr, /\\n/, 'line breaks, not escaped ones');
    const shown = json<{ function: { env: Record<string, string>; limits: { timeoutMs: number } } }>(await cli(['functions', 'show', fn, '--json']));
    assert.deepEqual(shown.function.env, { DB_URL: 'mongodb://one', EXTRA: 'kept' });
    assert.equal(shown.function.limits.timeoutMs, 10_000);
    assert.deepEqual(json<{ body: unknown }>(await cli(['invoke', fn, '--json'])).body, { url: 'mongodb://one' });
  });

  it('a function deployed with --no-check that reads env it lacks at import: runs <id> says what sets it (apps round 13)', async () => {
    const { dir, fn } = folder('env-missing', 'envm', 'import os\nURL = os.environ["SHOP_DB_URL"]\ndef handler(event, context):\n    return {"url": URL}\n');
    assert.equal((await cli(['deploy', dir, '--no-check'])).code, EXIT.OK);
    const i = await cli(['invoke', fn, '--json']);
    assert.equal(i.code, EXIT.FAILURE);
    const { runId } = json<{ runId: string }>(i);
    let shown: CliResult | null = null;
    await eventually(async () => (shown = await cli(['runs', runId])).code === EXIT.OK);
    assert.match(shown!.stdout, /KeyError: 'SHOP_DB_URL' at main\.py:2/);
    assert.match(shown!.stdout, new RegExp(`It reads env SHOP_DB_URL, which the function does not have: .* \`.*env set ${fn} SHOP_DB_URL=… --secret\``));
  });

  it('a write past the box\'s file cap: runs <id> says what the cap is and what to do (apps round 13)', async () => {
    // A sparse write past the cap: EFBIG without filling memory.
    const { dir, fn } = folder('file-cap', 'fcap', 'def handler(event, context):\n    with open("/tmp/cache.bin", "wb") as f:\n        f.seek(200 << 20)\n        f.write(b"x")\n    return 1\n');
    assert.equal((await cli(['deploy', dir])).code, EXIT.OK);
    const i = await cli(['invoke', fn, '--json']);
    assert.equal(i.code, EXIT.FAILURE);
    const { runId } = json<{ runId: string }>(i);
    let shown: CliResult | null = null;
    await eventually(async () => (shown = await cli(['runs', runId])).code === EXIT.OK);
    // The run record's message says it (fp_runtime/errors.py file_space_hint), once.
    assert.match(shown!.stdout, /OSError: \[Errno 27\] File too large \[the instance's \/tmp, \/dev\/shm and working directory hold 64 MiB each, .* raise FP_SANDBOX_TMP_BYTES .*\] at main\.py:\d/);
    assert.equal(shown!.stdout.split('MiB each').length, 2, 'the cap is said once');
  });

  it('multiprocessing that needs a listening socket (Manager() at import, a forkserver Pool in a call): the refusal and runs <id> say the box refused it (apps round 14)', async () => {
    const hint = /A function cannot listen on a socket, nor bind an inet one \(docs\/security\.md, "System calls"\): multiprocessing's Manager\(\) starts a server process that listens/;
    // Manager()'s server process dies at its listen: the app saw only `EOFError` with no message.
    const { dir } = folder('mp-manager', 'mpm', 'import multiprocessing\nSHARED = multiprocessing.Manager().dict()\ndef handler(event, context):\n    return dict(SHARED)\n');
    const refused = await cli(['deploy', dir]);
    assert.equal(refused.code, EXIT.API, refused.stderr);
    assert.match(refused.stderr, /EOFError: {2}\(main\.py:2\)/);
    assert.match(refused.stderr, hint);
    const pool = folder('mp-forkserver', 'mpf', 'import multiprocessing as mp\ndef sq(x):\n    return x * x\ndef handler(event, context):\n    with mp.get_context("forkserver").Pool(1) as p:\n        return p.map(sq, [2])\n');
    assert.equal((await cli(['deploy', pool.dir])).code, EXIT.OK);
    const i = await cli(['invoke', pool.fn, '--json']);
    assert.equal(i.code, EXIT.FAILURE);
    const { runId } = json<{ runId: string }>(i);
    let shown: CliResult | null = null;
    await eventually(async () => (shown = await cli(['runs', runId])).code === EXIT.OK);
    // The runtime's message says why and what to use instead (apps round 26), and it is said once.
    assert.match(shown!.stdout, /PermissionError: \[Errno 1\] Operation not permitted \[a function may not listen on a socket .*get_context\("fork"\).*\] at main\.py:5/);
    assert.doesNotMatch(shown!.stdout, hint);
  });

  it('invoke --include prints the headers, and a binary body\'s notice its type, with control characters escaped (the function writes them)', async () => {
    // 8-bit CSI (U+009B) clears a screen, OSC (U+009D) … ST (U+009C) sets a title, on terminals that take C1 in UTF-8.
    const { dir, fn } = folder('c1-headers', 'c1', [
      'def handler(event, context):',
      '    return {"statusCode": 200, "headers": {"content-type": "application/octet-stream x\\u009b2J", "x-note": "a\\u009d0;TITLE\\u009c"},',
      '            "body": "AAECAw==", "isBase64Encoded": True}',
      '',
    ].join('\n'));
    assert.equal((await cli(['deploy', dir])).code, EXIT.OK);
    const shown = await cli(['invoke', fn, '--include']);
    assert.equal(shown.code, EXIT.OK, shown.stderr);
    assert.match(shown.stdout, /^x-note: a\\x9d0;TITLE\\x9c$/m);
    assert.match(shown.stdout, /\(4 bytes of application\/octet-stream x\\x9b2J; save them with --output FILE\)/);
    assert.doesNotMatch(shown.stdout, /[\u0080-\u009f]/);
  });

  it('rollback brings the old behaviour back', async () => {
    const r = json<{ fromVersion: number; toVersion: number }>(await cli(['rollback', name, '--json']));
    assert.deepEqual([r.fromVersion, r.toVersion], [2, 1]);
    await eventually(async () => json<{ body: { message: string } }>(await cli(['invoke', name, '-d', '{"name":"Ada"}', '--json'])).body.message === 'hello, Ada');
  });

  it('functions pause/resume/delete: a paused function answers 503 FUNCTION_PAUSED; delete asks or takes --yes', async () => {
    const fn = `${name}-life`;
    const dir = join(work, 'life');
    assert.equal((await cli(['init', dir, '--name', fn])).code, EXIT.OK);
    assert.equal((await cli(['deploy', dir])).code, EXIT.OK);
    const paused = await cli(['functions', 'pause', fn, '--note', 'maintenance', '--json']);
    assert.equal(paused.code, EXIT.OK, paused.stderr);
    assert.deepEqual(json(paused), { ok: true, function: fn, status: 'paused', activeVersion: 1 });
    const refused = await cli(['invoke', fn, '--json']);
    assert.deepEqual([refused.code, json<{ status: number; body: { error: { code: string } } }>(refused).body.error.code], [EXIT.API, 'FUNCTION_PAUSED']);
    // A deploy leaves it paused, and says so.
    writeFileSync(join(dir, 'extra.py'), 'X = 1\n');
    const redeployed = await cli(['deploy', dir]);
    assert.equal(redeployed.code, EXIT.OK, redeployed.stderr);
    assert.match(redeployed.stderr, new RegExp(`note: ${fn} is paused: its calls answer 503 FUNCTION_PAUSED until \`.*functions resume ${fn}\``));
    const resumed = await cli(['functions', 'resume', fn]);
    assert.equal(resumed.code, EXIT.OK, resumed.stderr);
    assert.match(resumed.stdout, /Resumed .* serving version 2/);
    assert.equal(json<{ status: number }>(await cli(['invoke', fn, '--json'])).status, 200);
    // No terminal to ask on: delete needs --yes, and nothing is deleted without it.
    const unasked = await cli(['functions', 'delete', fn, '--json']);
    assert.deepEqual([unasked.code, json<{ error: { code: string } }>(unasked).error.code], [EXIT.USAGE, 'CONFIRMATION_REQUIRED']);
    assert.equal((await cli(['functions', 'show', fn])).code, EXIT.OK);
    assert.deepEqual(json(await cli(['functions', 'delete', fn, '--yes', '--json'])), { ok: true, function: fn, deleted: true });
    assert.equal((await cli(['functions', 'show', fn])).code, EXIT.API);
    assert.equal(json<{ body: { error: { code: string } } }>(await cli(['invoke', fn, '--json'])).body.error.code, 'FUNCTION_NOT_FOUND');
    assert.equal((await cli(['functions', 'pause', fn])).code, EXIT.API);
    assert.equal((await cli(['functions', 'pause'])).code, EXIT.USAGE);
    // A name that is not one is said so (it read "needs a function name" with one given).
    const bad = await cli(['functions', 'pause', 'ünï']);
    assert.equal(bad.code, EXIT.USAGE);
    assert.match(bad.stderr, /"ünï" is not a function name/);
    const help = await cli(['functions', '--help']);
    assert.match(help.stdout, /functions pause\|resume <name>/);
  });

  it('a failing function: invoke exits 1, runs <id> shows the error with file and line', async () => {
    const dir = join(work, 'boom');
    mkdirSync(dir);
    writeFileSync(join(dir, 'platform.yaml'), `kind: function\nname: ${name}-boom\n`);
    writeFileSync(join(dir, 'main.py'), 'def handler(event, context):\n    raise ValueError("bad value 41")\n');
    assert.equal((await cli(['deploy', dir])).code, EXIT.OK);
    const i = await cli(['invoke', `${name}-boom`, '--json']);
    assert.equal(i.code, EXIT.FAILURE);
    const { runId, status } = json<{ runId: string; status: number }>(i);
    assert.equal(status, 500);
    let shown: CliResult | null = null;
    await eventually(async () => (shown = await cli(['runs', runId])).code === EXIT.OK);
    assert.match(shown!.stdout, /ValueError: bad value 41 at main\.py:2/);
    const failed = json<{ items: { runId: string }[] }>(await cli(['runs', `${name}-boom`, '--status', 'failed', '--json']));
    assert.ok(failed.items.some((r) => r.runId === runId));
    // Callers get a generic message; the owner's invoke shows the exception from the run record.
    assert.doesNotMatch(i.stdout, /bad value 41/);
    const human = await cli(['invoke', `${name}-boom`]);
    assert.equal(human.code, EXIT.FAILURE);
    assert.match(human.stdout, /error \(from the run record\): ValueError: bad value 41 {2}\(main\.py:2\)/);
  });

  it('errors: verbose in platform.yaml shows a failure\'s message and place to any caller', async () => {
    const dir = join(work, 'verbose');
    mkdirSync(dir);
    writeFileSync(join(dir, 'platform.yaml'), `kind: function\nname: ${name}-verbose\nerrors: verbose\n`);
    writeFileSync(join(dir, 'main.py'), 'def handler(event, context):\n    raise ValueError("bad value 42")\n');
    assert.equal((await cli(['deploy', dir])).code, EXIT.OK);
    const res = await fetch(`${up.url}/fn/${name}-verbose/`);
    assert.equal(res.status, 500);
    const body = (await res.json()) as { error: { code: string; message: string; type: string; file: string; line: number } };
    assert.deepEqual([body.error.code, body.error.message, body.error.type, body.error.file, body.error.line], ['FUNCTION_ERROR', 'bad value 42', 'ValueError', 'main.py', 2]);
  });

  it('a token-mode function: deploy saves its invoke token, invoke sends it; a wrong one is refused', async () => {
    const dir = join(work, 'sec');
    assert.equal((await cli(['init', dir, '--name', `${name}-sec`])).code, EXIT.OK);
    const d = json<{ auth: string; invokeToken: string }>(await cli(['deploy', dir, '--auth', 'token', '--json']));
    assert.equal(d.auth, 'token');
    const saved = JSON.parse(readFileSync(join(env.FP_CONFIG_DIR!, 'credentials.json'), 'utf8')) as { invokeTokens: Record<string, string> };
    assert.equal(saved.invokeTokens[`${name}-sec`], d.invokeToken);
    assert.equal((await cli(['invoke', `${name}-sec`])).code, EXIT.OK);
    const wrong = await cli(['invoke', `${name}-sec`, '--invoke-token', 'nope', '--json']);
    assert.deepEqual([wrong.code, json<{ status: number }>(wrong).status], [EXIT.API, 401]);
    // Host routing (<name>.localhost) goes through the same admission: the Host header bypasses nothing.
    const host = `${name}-sec.localhost`;
    const none = await request(`${up.url}/`, { headers: { host } });
    assert.deepEqual([none.status, errorOf(none.body).code], [401, 'INVOKE_TOKEN_REQUIRED']);
    const bogus = await request(`${up.url}/`, { headers: { host, authorization: 'Bearer nope' } });
    assert.equal(bogus.status, 401);
    // The root token may call any function (ADR 0011), through its host as through /fn/.
    const root = await request(`${up.url}/`, { headers: { host, authorization: `Bearer ${up.started.adminToken}` } });
    assert.equal(root.status, 200);
    const ok = await request(`${up.url}/`, { headers: { host, authorization: `Bearer ${d.invokeToken}` } });
    assert.equal(ok.status, 200);
  });

  it('env set/unset/list: secrets reach the function at its next cold start, are listed by name only and never printed', async () => {
    const fn = `${name}-env`;
    const dir = join(work, 'envfn');
    mkdirSync(dir);
    writeFileSync(join(dir, 'platform.yaml'), `kind: function\nname: ${fn}\n`);
    writeFileSync(join(dir, 'main.py'), 'import os\ndef handler(event, context):\n    return {k: os.environ.get(k) for k in ["GREETING", "DB_PASSWORD", "API_KEY"]}\n');
    assert.equal((await cli(['deploy', dir])).code, EXIT.OK);
    const password = `pw-${randomBytes(8).toString('hex')}`;
    const apiKey = `key-${randomBytes(8).toString('hex')}`;
    assert.equal((await cli(['env', 'set', fn, 'GREETING=hi'])).code, EXIT.OK);
    const set = await cli(['env', 'set', fn, `DB_PASSWORD=${password}`, '--secret', '--json']);
    assert.deepEqual(json(set), { ok: true, function: fn, set: ['DB_PASSWORD'], secret: true });
    const fromStdin = await cli(['env', 'set', fn, 'API_KEY', '--secret'], { stdin: `${apiKey}\n` });
    assert.equal(fromStdin.code, EXIT.OK, fromStdin.stderr);
    assert.match(fromStdin.stdout, /next cold start|cold start/);
    const listed = await cli(['env', 'list', fn]);
    assert.match(listed.stdout, /DB_PASSWORD\s+secret\s+\(hidden\)/);
    assert.match(listed.stdout, /GREETING\s+env\s+hi/);
    assert.deepEqual(json(await cli(['env', 'list', fn, '--json'])), { ok: true, function: fn, env: { GREETING: 'hi' }, secrets: ['API_KEY', 'DB_PASSWORD'] });
    for (const r of [set, fromStdin, listed]) assert.equal((r.stdout + r.stderr).includes(password) || (r.stdout + r.stderr).includes(apiKey), false);
    const seen = json<{ body: Record<string, string | null> }>(await cli(['invoke', fn, '--json']));
    assert.deepEqual(seen.body, { GREETING: 'hi', DB_PASSWORD: password, API_KEY: apiKey });
    const unset = json(await cli(['env', 'unset', fn, 'DB_PASSWORD', 'GREETING', 'NOPE', '--json']));
    assert.deepEqual(unset, { ok: true, function: fn, removed: ['DB_PASSWORD', 'GREETING'], notSet: ['NOPE'] });
    // Said as a removal (it said "New instances get it" of the values it removed).
    const unsetText = await cli(['env', 'unset', fn, 'API_KEY', 'NOPE']);
    assert.match(unsetText.stdout, /Removed API_KEY from "[^"]+"\. New instances start without it at their cold start/);
    assert.equal((await cli(['env', 'set', fn, 'API_KEY', '--secret'], { stdin: `${apiKey}\n` })).code, EXIT.OK);
    const after = json<{ cold: boolean; body: Record<string, string | null> }>(await cli(['invoke', fn, '--json']));
    assert.deepEqual([after.cold, after.body], [true, { GREETING: null, DB_PASSWORD: null, API_KEY: apiKey }]);
    assert.equal((await cli(['env', 'set', fn, '1BAD=x'])).code, EXIT.USAGE);
    assert.equal((await cli(['env', 'frobnicate', fn])).code, EXIT.USAGE);
    assert.equal((await cli(['env', 'list', `${name}-missing`])).code, EXIT.API);
    const help = await cli(['env', '--help']);
    assert.deepEqual([help.code, /env set <fn> NAME=value/.test(help.stdout)], [EXIT.OK, true]);
  });

  it('env set/unset start the deployed version with the new values first: one it does not start with is refused, nothing changes; --no-check applies it', async () => {
    // A value that broke the module's load took the live function down at once, where deploy
    // refuses the same breakage (apps round of 2026-12-05).
    const { dir, fn } = folder('envcheck', 'envcheck', 'import os\nPORT = int(os.environ["PORT"])\ndef handler(event, context):\n    return PORT\n', 'env:\n  PORT: "8000"\n');
    assert.equal((await cli(['deploy', dir])).code, EXIT.OK);
    const bad = await cli(['env', 'set', fn, 'PORT=eighty']);
    assert.equal(bad.code, EXIT.API, bad.stdout + bad.stderr);
    assert.match(bad.stderr, /DEPLOY_START_FAILED/);
    assert.match(bad.stderr, /did not start with the new env, secrets or limits: ValueError: invalid literal for int\(\)/);
    assert.match(bad.stderr, /nothing was changed/);
    assert.equal(json<{ body: unknown }>(await cli(['invoke', fn, '--json'])).body, 8000, 'the function serves as before');
    const unset = await cli(['env', 'unset', fn, 'PORT']);
    assert.equal(unset.code, EXIT.API, 'KeyError at import: refused too');
    assert.equal(json<{ env: Record<string, string> }>(await cli(['env', 'list', fn, '--json'])).env.PORT, '8000');
    assert.equal((await cli(['env', 'set', fn, 'PORT=9000'])).code, EXIT.OK, 'a value it starts with');
    await eventually(async () => json<{ body: unknown }>(await cli(['invoke', fn, '--json'])).body === 9000);
    assert.equal((await cli(['env', 'set', fn, 'PORT=eighty', '--no-check'])).code, EXIT.OK);
    const down = await cli(['invoke', fn, '--json']);
    assert.equal(down.code, EXIT.FAILURE, 'applied unchecked: the next instance does not load');
  });

  it('env set and env push refused by the start check show the traceback and the hint deploy gives (a module the environment does not have)', async () => {
    // Before (dx round 4): the traceback came without deploy's hint of where a module comes from.
    const { dir, fn } = folder('envhint', 'envhint', 'import importlib, os\nPLUGIN = importlib.import_module(os.environ.get("PLUGIN", "json"))\ndef handler(event, context):\n    return PLUGIN.__name__\n');
    assert.equal((await cli(['deploy', dir])).code, EXIT.OK);
    const hint = /It imports no_such_plugin_x, which the function's environment does not have: a package goes in requirements\.txt/;
    const set = await cli(['env', 'set', fn, 'PLUGIN=no_such_plugin_x']);
    assert.equal(set.code, EXIT.API, set.stdout + set.stderr);
    assert.match(set.stderr, /Traceback \(most recent call last\)/);
    assert.match(set.stderr, hint);
    assert.match(set.stderr, /run the command again with --no-check/);
    assert.doesNotMatch(set.stderr, /PLUGIN=no_such_plugin_x.*--no-check/, 'the command (a value, maybe a secret) is not repeated');
    writeFileSync(join(dir, 'pushed.env'), 'PLUGIN=no_such_plugin_x\n');
    const push = await cli(['env', 'push', fn, '--file', join(dir, 'pushed.env'), '--yes', '--no-manifest']);
    assert.equal(push.code, EXIT.API, push.stdout + push.stderr);
    assert.match(push.stderr, /Traceback \(most recent call last\)/);
    assert.match(push.stderr, hint);
    assert.equal(json<{ body: unknown }>(await cli(['invoke', fn, '--json'])).body, 'json', 'nothing was changed');
  });

  it('deploy checks the imports against what its dependency build installed: a module a declared package brings is not warned about; validate says it checked the declared names only', async () => {
    // Before (dx round 4): deploy warned that delta_lib, which gamma brings, was undeclared.
    const { dir } = folder('brought', 'brought', 'import gamma, delta_lib\ndef handler(event, context):\n    import zeta_missing_x\n    return delta_lib.VALUE\n');
    writeFileSync(join(dir, 'requirements.txt'), 'gamma\n');
    const validated = await cli(['validate', dir]);
    assert.match(validated.stderr, /imports 'delta_lib', .*checked against the declared names only, before their own dependencies are resolved/);
    const d = await cli(['deploy', dir]);
    assert.equal(d.code, EXIT.OK, d.stdout + d.stderr);
    assert.match(d.stdout, /Dependencies: 2 installed .*delta-lib==1\.0, gamma==1\.0/);
    assert.doesNotMatch(d.stderr, /delta_lib/, d.stderr);
    assert.match(d.stderr, /warning: main\.py:3: imports 'zeta_missing_x', a third-party module that neither the runtime nor any of the 2 packages the dependency build installed provides/);
    assert.equal(d.stderr.split('zeta_missing_x').length - 1, 1, 'said once, after the build');
    assert.match(d.stdout, /^Version 1 deployed\./m);
  });

  it('deploy checks the imports against the modules the build found each package ships, also when a second function shares the site', async () => {
    // Before: the module of a package a declared one brings was guessed from its name (kappa-dist → kappa_dist, kappa).
    const deps = async (fn: string): Promise<{ packages: { name: string; modules?: string[] }[] }> => {
      const res = await fetch(`${up.url}/api/v1/functions/${fn}/versions/1/deps`, { headers: { authorization: `Bearer ${up.started.adminToken as string}` } });
      assert.equal(res.status, 200);
      return ((await res.json()) as { deps: { packages: { name: string; modules?: string[] }[] } }).deps;
    };
    for (const suffix of ['shipped-a', 'shipped-b']) {
      const { dir, fn } = folder(suffix, suffix, 'import lambda_pack, omicron_kit\ndef handler(event, context):\n    return omicron_kit.VALUE\n');
      writeFileSync(join(dir, 'requirements.txt'), 'lambda-pack\n');
      const d = await cli(['deploy', dir]);
      assert.equal(d.code, EXIT.OK, d.stdout + d.stderr);
      assert.doesNotMatch(d.stderr, /omicron_kit/, `${suffix}: ${d.stderr}`);
      assert.deepEqual((await deps(fn)).packages.map((p) => [p.name, p.modules]), [['kappa-dist', ['omicron_kit']], ['lambda-pack', ['lambda_pack']]], suffix);
    }
  });

  it('warns once (stderr) when credentials.json is readable by group or others, not when it is 0600', async () => {
    const file = join(env.FP_CONFIG_DIR!, 'credentials.json');
    chmodSync(file, 0o644);
    try {
      const loose = await cli(['runs', name, '--json']);
      assert.equal(loose.code, EXIT.OK, loose.stderr);
      assert.equal(loose.stderr.split('chmod 600').length - 1, 1, loose.stderr);
      assert.match(loose.stderr, /mode 0644/);
      JSON.parse(loose.stdout); // the warning stays out of the JSON document
    } finally {
      chmodSync(file, 0o600);
    }
    const tight = await cli(['runs', name, '--json']);
    assert.equal(tight.stderr.includes('chmod'), false, tight.stderr);
  });

  it('exit codes: 4 for a refused token, 5 for an unreachable platform, 4 for an unknown run', async () => {
    assert.equal((await cli(['runs', '--token', 'wrong'])).code, EXIT.API);
    assert.equal((await cli(['runs', '--url', 'http://127.0.0.1:9'])).code, EXIT.UNREACHABLE);
    const r = await cli(['runs', '00000000-0000-4000-8000-000000000000', '--json']);
    assert.equal(r.code, EXIT.API);
    assert.equal(json<{ ok: boolean }>(r).ok, false);
  });

  it('a restart keeps functions, versions and runs; the saved token still works', async () => {
    const stopped = await up.stop();
    assert.equal(stopped.code, 0);
    assert.match(stopped.stdout, /"event":"stopped"/);
    up = await startUp(['--state-dir', join(work, 'state'), '--port', '0'], env);
    assert.equal(up.started.adminToken, undefined);
    const i = json<{ status: number; cold: boolean; body: { message: string } }>(await cli(['invoke', name, '-d', '{"name":"Ada"}', '--json']));
    assert.deepEqual([i.status, i.cold, i.body.message], [200, true, 'hello, Ada']);
    const runs = await cli(['runs', name, '--json']);
    assert.equal(runs.code, EXIT.OK, runs.stderr);
    assert.ok(json<{ items: unknown[] }>(runs).items.length >= 4);
  });
});

describe('cli up --demo (what npm start runs)', { skip, timeout: 60_000 }, () => {
  it('deploys examples/hello through the deploy path, calls it cold then warm, and stops on SIGTERM', async (t) => {
    const work = mkdtempSync(join(tmpdir(), 'fp-cli-demo-'));
    t.after(() => rmSync(work, { recursive: true, force: true }));
    const up = await startUp(['--state-dir', join(work, 'state'), '--port', '0', '--demo'], { FP_CONFIG_DIR: join(work, 'config'), HOME: work });
    let stopped = false;
    t.after(async () => { if (!stopped) await up.stop(); });
    await eventually(async () => up.output().split('\n').filter((l) => l.includes('"event":"invoked"')).length >= 2, 20_000);
    const { code, stdout } = await up.stop();
    stopped = true;
    assert.equal(code, 0);
    const events = stdout.split('\n').filter((l) => l.startsWith('{')).map((l) => JSON.parse(l) as Record<string, unknown>);
    const deployed = events.find((e) => e.event === 'deployed');
    assert.deepEqual([deployed?.function, deployed?.version, deployed?.created], ['hello', 1, true]);
    assert.deepEqual(events.filter((e) => e.event === 'invoked').map((e) => [e.status, e.cold]), [[200, true], [200, false]]);
    assert.equal(events[events.length - 1]!.event, 'stopped');
  });
});

describe('cli and the sandbox', { skip, timeout: 60_000 }, () => {
  it('up reports the sandbox; with --unsafe-no-sandbox every command warns on stderr', async (t) => {
    const work = mkdtempSync(join(tmpdir(), 'fp-cli-unsafe-'));
    t.after(() => rmSync(work, { recursive: true, force: true }));
    const env = { FP_CONFIG_DIR: join(work, 'config'), HOME: work };
    const up = await startUp(['--state-dir', join(work, 'state'), '--port', '0', '--unsafe-no-sandbox'], env);
    t.after(() => up.stop());
    assert.equal((up.started.sandbox as { mode: string }).mode, 'off');
    const ready = (await (await fetch(`${up.url}/readyz`)).json()) as { sandbox: { unsafe: boolean } };
    assert.equal(ready.sandbox.unsafe, true);
    const runs = await spawnCli(['runs', '--json'], { env });
    assert.equal(runs.code, EXIT.OK, runs.stderr);
    assert.match(runs.stderr, /WITHOUT a sandbox/);
    assert.equal(runs.stderr.match(/WITHOUT a sandbox/g)?.length, 1, 'once per command');
  });

  it('a second platform started with up keeps the first one\'s admin token as a profile (it was shown once and saved only there)', async (t) => {
    const work = mkdtempSync(join(tmpdir(), 'fp-cli-two-'));
    t.after(() => rmSync(work, { recursive: true, force: true }));
    const env = { FP_CONFIG_DIR: join(work, 'config'), HOME: work };
    const file = join(env.FP_CONFIG_DIR, 'credentials.json');
    const first = await startUp(['--state-dir', join(work, 'a'), '--port', '0'], env);
    t.after(() => first.stop());
    const a = JSON.parse(readFileSync(file, 'utf8')) as { url: string; token: string };
    assert.equal(a.url, first.url);
    const second = await startUp(['--state-dir', join(work, 'b'), '--port', '0'], env);
    t.after(() => second.stop());
    const b = JSON.parse(readFileSync(file, 'utf8')) as { url: string; token: string; profiles?: Record<string, { url: string; token: string }> };
    assert.equal(b.url, second.url, 'the default profile is the new platform\'s');
    const kept = `127.0.0.1-${new URL(first.url).port}`;
    assert.deepEqual(b.profiles?.[kept] && [b.profiles[kept].url, b.profiles[kept].token], [a.url, a.token], JSON.stringify(b.profiles));
    // The first platform is reached with it.
    const who = await spawnCli(['whoami', '--profile', kept, '--json'], { env });
    assert.equal(who.code, EXIT.OK, who.stderr);
    assert.equal(JSON.parse(who.stdout).url, first.url);
    // A restart of the second keeps the file as it is (its token still holds).
    await second.stop();
    const again = await startUp(['--state-dir', join(work, 'b'), '--port', '0'], env);
    t.after(() => again.stop());
    const c = JSON.parse(readFileSync(file, 'utf8')) as { token: string; profiles?: Record<string, unknown> };
    assert.equal(c.token, b.token);
    assert.deepEqual(Object.keys(c.profiles ?? {}), [kept]);
  });

  it('a sandboxed platform says how it boxes functions, and commands do not warn', async (t) => {
    const work = mkdtempSync(join(tmpdir(), 'fp-cli-safe-'));
    t.after(() => rmSync(work, { recursive: true, force: true }));
    const env = { FP_CONFIG_DIR: join(work, 'config'), HOME: work };
    const up = await startUp(['--state-dir', join(work, 'state'), '--port', '0'], env);
    t.after(() => up.stop());
    assert.notEqual((up.started.sandbox as { mode: string }).mode, 'off');
    const runs = await spawnCli(['runs', '--json'], { env });
    assert.equal(runs.code, EXIT.OK, runs.stderr);
    assert.doesNotMatch(runs.stderr, /WITHOUT a sandbox/);
  });
});

describe('cli start', () => {
  /** Runs the CLI with zod made unloadable (a module resolution hook), as `node --import`. */
  function withoutZod(argv: string[]): Promise<{ code: number | null; stderr: string }> {
    const hook = "export async function resolve(s, c, next) { if (s === 'zod' || s.startsWith('zod/')) throw new Error('zod was loaded'); return next(s, c); }";
    const register = `import { register } from 'node:module'; register(${JSON.stringify(`data:text/javascript,${encodeURIComponent(hook)}`)});`;
    return new Promise((resolvePromise, reject) => {
      const child = spawn(process.execPath, ['--import', `data:text/javascript,${encodeURIComponent(register)}`, BIN, ...argv], { cwd: ROOT, env: { PATH: process.env.PATH ?? '' }, stdio: ['ignore', 'ignore', 'pipe'] });
      let stderr = '';
      child.stderr!.on('data', (b: Buffer) => { stderr += b.toString(); });
      child.on('error', reject);
      child.on('close', (code) => resolvePromise({ code, stderr }));
    });
  }

  it('loads no zod before a command needs it (the credentials schema is loaded to read a credentials file)', async () => {
    const version = await withoutZod(['--version']);
    assert.equal(version.code, EXIT.OK, version.stderr);
    // The hook works: a command that reads platform.yaml needs zod and fails without it.
    const dir = mkdtempSync(join(tmpdir(), 'fp-cli-start-'));
    try {
      const validate = await withoutZod(['validate', dir]);
      assert.notEqual(validate.code, EXIT.OK);
      assert.match(validate.stderr, /zod was loaded/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('cli up on a port that is taken', () => {
  it('says which port and what to do (LISTEN_FAILED, exit 1), not an unexpected error with a stack trace', async (t) => {
    const { createServer } = await import('node:net');
    const holder = createServer();
    await new Promise<void>((done) => holder.listen(0, '127.0.0.1', done));
    t.after(() => holder.close());
    const port = (holder.address() as { port: number }).port;
    const work = mkdtempSync(join(tmpdir(), 'fp-cli-port-'));
    t.after(() => rmSync(work, { recursive: true, force: true }));
    const env = { FP_CONFIG_DIR: join(work, 'config'), HOME: work, FP_POOL_SIZE: '1' };
    const text = await spawnCli(['up', '--port', String(port), '--state-dir', join(work, 'state')], { env, timeoutMs: 60_000 });
    assert.equal(text.code, 1, text.stderr);
    assert.doesNotMatch(text.stderr, /unexpected error|at file:/);
    // The cause, not "in use or not permitted" (new-user round 13), then the CLI's flag.
    assert.match(text.stderr, new RegExp(`cannot listen on 127\\.0\\.0\\.1:${port}: another process listens on port ${port} .*--port`));
    const json = await spawnCli(['up', '--port', String(port), '--state-dir', join(work, 'state'), '--json'], { env, timeoutMs: 60_000 });
    assert.equal(JSON.parse(json.stdout).error.code, 'LISTEN_FAILED');
  });

  it('dev --port on a taken port says so too (it was "unexpected error" and a stack trace)', async (t) => {
    const { createServer } = await import('node:net');
    const holder = createServer();
    await new Promise<void>((done) => holder.listen(0, '127.0.0.1', done));
    t.after(() => holder.close());
    const port = (holder.address() as { port: number }).port;
    const work = mkdtempSync(join(tmpdir(), 'fp-cli-devport-'));
    t.after(() => rmSync(work, { recursive: true, force: true }));
    writeFileSync(join(work, 'platform.yaml'), 'kind: function\nname: devport\nentrypoint: main:handler\n');
    writeFileSync(join(work, 'main.py'), 'def handler(event, context):\n    return 1\n');
    const env = { FP_CONFIG_DIR: join(work, 'config'), HOME: work, FP_POOL_SIZE: '1' };
    const r = await spawnCli(['dev', work, '--port', String(port)], { env, timeoutMs: 60_000 });
    assert.equal(r.code, 1, r.stderr);
    assert.doesNotMatch(r.stderr, /unexpected error|at file:/);
    assert.match(r.stderr, new RegExp(`cannot listen on 127\\.0\\.0\\.1:${port}: another process listens .*--port N \\(--port 0: any free one\\) \\[LISTEN_FAILED\\]`));
  });
});
