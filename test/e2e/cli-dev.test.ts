/**
 * `fastapi-platform dev` as a user runs it (`node bin/fastapi-platform.js dev --json`, real
 * runtimes in the sandbox, real HTTP): on a platform of its own — .env values reach the function,
 * calls are printed with status, cold/warm and their log lines (streamed ones before the call's
 * end), a save reloads, a broken save keeps the last good version and reports file and line, async
 * calls show, Ctrl-C leaves no process and no state behind — and with --remote against `up`.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { EventProcess, type Event } from '../../bench/events.js';
import { BIN, ROOT, spawnCli } from '../helpers/cli-harness.js';
import { descendantsOf, eventually, isAlive } from '../helpers/processes.js';
import { writeWheel } from '../helpers/wheels.js';

const skip = existsSync(join(ROOT, 'dist', 'platform', 'start.js')) ? false : 'dist/platform/start.js is not built yet';
const WAIT_MS = 60_000;

/** Reads env values, logs, may sleep (printing first), answers with its version. */
function handler(version: string): string {
  return [
    'import os, time',
    'def handler(event, context):',
    '    q = event["query"]',
    '    print("working", event["requestId"])',
    '    if "sleep" in q: time.sleep(float(q["sleep"]))',
    '    context.logger.info("done %s", event["requestId"])',
    `    return {"version": "${version}", "greeting": os.environ.get("GREETING"), "override": os.environ.get("OVERRIDE"), "local": os.environ.get("LOCAL_SECRET")}`,
    '',
  ].join('\n');
}

function writeFolder(dir: string, name: string): void {
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'platform.yaml'), `kind: function\nname: ${name}\nentrypoint: main:handler\ninvocation: both\nenv:\n  GREETING: from-yaml\n  OVERRIDE: from-yaml\n`);
  writeFileSync(join(dir, 'main.py'), handler('v1'));
  writeFileSync(join(dir, '.env'), 'LOCAL_SECRET=from-dotenv\nOVERRIDE="from .env"\n');
}

async function get(url: string): Promise<{ status: number; runId: string | null; body: Record<string, unknown> }> {
  const res = await fetch(url);
  return { status: res.status, runId: res.headers.get('x-run-id'), body: (await res.json()) as Record<string, unknown> };
}

const callOf = (runId: string | null) => (e: Event): boolean => e.event === 'call' && e.runId === runId;

describe('cli dev (a platform of its own)', { skip, timeout: 240_000 }, () => {
  const name = `dev-${randomBytes(3).toString('hex')}`;
  let work = '';
  let dir = '';
  let dev: EventProcess;
  let started: Event;
  let url = '';

  before(async () => {
    work = mkdtempSync(join(tmpdir(), 'fp-e2e-dev-'));
    dir = join(work, name);
    writeFolder(dir, name);
    dev = new EventProcess(process.execPath, [BIN, 'dev', dir, '--json', '--port', '0'], { env: { PATH: process.env.PATH ?? '', HOME: work, FP_CONFIG_DIR: join(work, 'config') } });
    started = await dev.next((e) => e.event === 'started', WAIT_MS, true);
    await dev.next((e) => e.event === 'reloaded' && e.version === 1, WAIT_MS, true);
    url = `${String(started.url)}/fn/${name}/`;
  });
  after(async () => {
    await dev?.stop();
    rmSync(work, { recursive: true, force: true });
  });

  it('serves the folder at /fn/<name>/ on its own platform; .env values win over platform.yaml and never touch the credentials', async () => {
    assert.equal(started.mode, 'local');
    assert.match(String(started.url), /^http:\/\/127\.0\.0\.1:\d+$/);
    const first = await get(url);
    assert.equal(first.status, 200);
    assert.deepEqual(first.body, { version: 'v1', greeting: 'from-yaml', override: 'from .env', local: 'from-dotenv' });
    assert.equal(existsSync(join(work, 'config', 'credentials.json')), false);
  });

  it('prints each call: status, cold then warm, version, and its log lines', async () => {
    const a = await get(`${url}?n=1`);
    const b = await get(`${url}?n=2`);
    const callA = await dev.next(callOf(a.runId), WAIT_MS, true);
    const callB = await dev.next(callOf(b.runId), WAIT_MS, true);
    assert.equal(callB.cold, false);
    assert.equal(callA.httpStatus, 200);
    assert.equal(callB.version, '1');
    assert.equal(callB.trigger, 'http');
    // Each line is shown once: as a `log` event as it arrives (before the call's event), or else
    // with the call's event.
    const logs = [
      ...(dev.take((e) => e.event === 'log' && e.runId === b.runId)),
      ...(callB.logs as Event[]),
    ] as { msg: string; level?: string }[];
    assert.ok(logs.some((l) => l.msg === `working ${b.runId}`), JSON.stringify(logs));
    assert.ok(logs.some((l) => l.level === 'INFO' && l.msg.endsWith(`done ${b.runId}`)), JSON.stringify(logs));
  });

  it("shows a running call's lines as it writes them, before the call's line", async () => {
    const order: string[] = [];
    const res = fetch(`${url}?sleep=1`);
    const line = await dev.next((e) => e.event === 'log' && typeof e.msg === 'string' && e.msg.startsWith('working '), WAIT_MS);
    order.push('log');
    const runId = (await res).headers.get('x-run-id');
    assert.equal(line.msg, `working ${runId}`);
    assert.equal(line.runId, runId);
    const call = await dev.next(callOf(runId), WAIT_MS, true);
    order.push('call');
    // The call's own event repeats none of the streamed lines.
    assert.ok(!(call.logs as { msg: string }[]).some((l) => l.msg === `working ${runId}`));
    assert.deepEqual(order, ['log', 'call']);
  });

  it('reloads on save: the next call answers with the new code', async () => {
    const reloaded = dev.next((e) => e.event === 'reloaded' && e.version === 2, WAIT_MS);
    writeFileSync(join(dir, 'main.py'), handler('v2'));
    const event = await reloaded;
    assert.deepEqual((event.changes as { modified: string[] }).modified, ['main.py']);
    const answer = await get(url);
    assert.equal(answer.body.version, 'v2');
    const call = await dev.next(callOf(answer.runId), WAIT_MS, true);
    assert.equal(call.cold, true);
    assert.equal(call.version, '2');
  });

  it('a save that breaks validation deploys nothing: version 2 keeps serving and the problem is reported with file and line', async () => {
    const invalid = dev.next((e) => e.event === 'invalid', WAIT_MS);
    writeFileSync(join(dir, 'main.py'), 'def handler(event, context):\n    return {\n');
    const event = await invalid;
    const problems = event.problems as { kind: string; file: string; line: number }[];
    assert.ok(problems.some((p) => p.kind === 'syntax' && p.file === 'main.py' && p.line === 2), JSON.stringify(problems));
    assert.deepEqual(event.serving, { function: name, version: 2 });
    assert.equal((await get(url)).body.version, 'v2');
    // A broken .env line is a problem too, with its line.
    const bad = dev.next((e) => e.event === 'invalid', WAIT_MS);
    writeFileSync(join(dir, '.env'), 'LOCAL_SECRET=from-dotenv\nnot an assignment\n');
    const dotenv = (await bad).problems as { kind: string; file: string; line: number }[];
    assert.ok(dotenv.some((p) => p.kind === 'dotenv' && p.file === '.env' && p.line === 2), JSON.stringify(dotenv));
  });

  it('a fix reloads, and a changed .env value reaches the next call', async () => {
    const fixed = dev.next((e) => e.event === 'reloaded' && e.version === 3, WAIT_MS);
    writeFileSync(join(dir, '.env'), 'LOCAL_SECRET=changed\n');
    writeFileSync(join(dir, 'main.py'), handler('v3'));
    await fixed;
    const answer = await get(url);
    assert.deepEqual(answer.body, { version: 'v3', greeting: 'from-yaml', override: 'from-yaml', local: 'changed' });
  });

  it('a save whose code does not load is not reloaded: the serving version stays, what the load printed and its traceback are shown', async () => {
    const before = (await get(url)).body.version;
    const refused = dev.next((e) => e.event === 'refused', WAIT_MS);
    writeFileSync(join(dir, 'main.py'), `print("loading")\nraise RuntimeError("bad start")\n${handler('broken')}`);
    const event = await refused;
    assert.equal(event.code, 'DEPLOY_START_FAILED');
    const load = event.load as string[];
    assert.ok(load.includes('  loading') && load.some((l) => /RuntimeError: bad start/.test(l)), JSON.stringify(load));
    assert.equal((await get(url)).body.version, before, 'the version that served before still does');
    const back = dev.next((e) => e.event === 'reloaded' || e.event === 'unchanged', WAIT_MS);
    writeFileSync(join(dir, 'main.py'), handler(before as string));
    await back;
  });

  // New-user round 3: an import the load could not find showed its traceback alone in dev; deploy's
  // hint says where modules come from (requirements.txt, the uploaded files).
  it('a save that imports a module the function lacks is refused with where modules come from', async () => {
    const before = (await get(url)).body.version;
    const refused = dev.next((e) => e.event === 'refused', WAIT_MS);
    writeFileSync(join(dir, 'main.py'), `import humanize_not_installed\n${handler('broken')}`);
    const event = await refused;
    assert.equal(event.code, 'DEPLOY_START_FAILED');
    const load = event.load as string[];
    assert.ok(load.some((l) => /^It imports humanize_not_installed, which the function's environment does not have: a package goes in requirements\.txt/.test(l)), JSON.stringify(load));
    const back = dev.next((e) => e.event === 'reloaded' || e.event === 'unchanged', WAIT_MS);
    writeFileSync(join(dir, 'main.py'), handler(before as string));
    await back;
  });

  it('a .env change alone reaches the next call, without a new version', async () => {
    await get(url); // a warm instance with the old value
    const applied = dev.next((e) => e.event === 'unchanged', WAIT_MS);
    writeFileSync(join(dir, '.env'), 'LOCAL_SECRET=changed again\n');
    const event = await applied;
    assert.deepEqual(event.envChanged, ['LOCAL_SECRET']);
    assert.equal(event.version, 3);
    assert.equal((await get(url)).body.local, 'changed again');
  });

  it("a save that deploys with validate's warnings shows them (an undeclared import fails every call that reaches it)", async () => {
    // (Two files: their saves may come as one reload or two; the one with main.py has the warning.)
    const reloaded = dev.next((e) => e.event === 'reloaded' && (e.warnings as unknown[]).length > 0, WAIT_MS);
    // One save: the module and the (never called) function that imports it.
    writeFileSync(join(dir, 'extra.py'), 'import not_a_real_package_zz\n');
    writeFileSync(join(dir, 'main.py'), `${handler('v3')}def unused():\n    import extra\n`);
    const event = await reloaded;
    const warnings = event.warnings as { file: string; line: number; message: string }[];
    assert.ok(warnings.some((w) => w.file === 'extra.py' && w.line === 1 && /not_a_real_package_zz/.test(w.message)), JSON.stringify(warnings));
    const clean = dev.next((e) => e.event === 'reloaded' && (e.changes as { modified: string[] }).modified.includes('main.py'), WAIT_MS);
    writeFileSync(join(dir, 'main.py'), handler('v3'));
    assert.deepEqual((await clean).warnings, []);
    const removed = dev.next((e) => e.event === 'reloaded' && (e.changes as { removed: string[] }).removed.includes('extra.py'), WAIT_MS);
    rmSync(join(dir, 'extra.py'));
    await removed; // the next tests start with no reload in progress
  });

  it('an async call (/async/<name>/) is shown when it ran, as trigger async', async () => {
    const res = await fetch(`${String(started.url)}/async/${name}/`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' });
    assert.equal(res.status, 202);
    const { runId } = (await res.json()) as { runId: string };
    const call = await dev.next(callOf(runId), WAIT_MS, true);
    assert.equal(call.trigger, 'async');
    assert.equal(call.status, 'succeeded');
  });

  it('Ctrl-C stops: exit 0, no process of it left, its state folder removed', async () => {
    const pid = dev.pid;
    const children = descendantsOf(pid);
    assert.ok(children.length >= 2, `dev runs runtimes: ${children.join(' ')}`);
    const stopping = performance.now();
    const code = await dev.stop(30_000); // a loaded CI machine: the calls and reload in flight finish first
    assert.equal(code, 0, `exit after ${Math.round(performance.now() - stopping)} ms`);
    await dev.next((e) => e.event === 'stopped', 1000, true);
    assert.ok(await eventually(() => children.every((p) => !isAlive(p)), 5000), `still alive: ${children.filter(isAlive).join(' ')}`);
    assert.equal(existsSync(String(started.stateDir)), false);
  });
});

describe('cli dev: a first save that does not load', { skip, timeout: 240_000 }, () => {
  const name = `devfirst-${randomBytes(3).toString('hex')}`;
  let work = '';
  let dir = '';
  let dev: EventProcess;

  before(async () => {
    work = mkdtempSync(join(tmpdir(), 'fp-e2e-dev-first-'));
    dir = join(work, name);
    writeFolder(dir, name);
    writeFileSync(join(dir, 'main.py'), `raise RuntimeError("bad start")\n${handler('broken')}`);
    dev = new EventProcess(process.execPath, [BIN, 'dev', dir, '--json', '--port', '0'], { env: { PATH: process.env.PATH ?? '', HOME: work, FP_CONFIG_DIR: join(work, 'config') } });
  });
  after(async () => {
    await dev?.stop();
    rmSync(work, { recursive: true, force: true });
  });

  it("is refused without deploy's advice about the function it created (deploy again, functions delete): the next save deploys, and dev's platform goes at exit", async () => {
    const refused = await dev.next((e) => e.event === 'refused', WAIT_MS, true);
    assert.equal(refused.code, 'DEPLOY_START_FAILED');
    assert.match(String(refused.message), /RuntimeError: bad start/);
    // Journey round 11: `deploy`'s "(The function … was created and is not deployed: deploy again …, or
    // remove it with `fastapi-platform functions delete …`)" followed it, about a platform gone at exit.
    assert.doesNotMatch(String(refused.message), /was created and is not deployed|functions delete/, String(refused.message));
    const reloaded = dev.next((e) => e.event === 'reloaded', WAIT_MS);
    writeFileSync(join(dir, 'main.py'), handler('v1'));
    await reloaded;
  });
});

describe('cli dev --remote (against a running platform)', { skip, timeout: 240_000 }, () => {
  const name = `devr-${randomBytes(3).toString('hex')}`;
  let work = '';
  let dir = '';
  let env: Record<string, string> = {};
  let up: EventProcess;
  let upUrl = '';

  before(async () => {
    work = mkdtempSync(join(tmpdir(), 'fp-e2e-devr-'));
    dir = join(work, name);
    writeFolder(dir, name);
    env = { PATH: process.env.PATH ?? '', HOME: work, FP_CONFIG_DIR: join(work, 'config') };
    up = new EventProcess(process.execPath, [BIN, 'up', '--json', '--state-dir', join(work, 'state'), '--port', '0'], { env });
    upUrl = String((await up.next((e) => e.event === 'started', WAIT_MS, true)).url);
  });
  after(async () => {
    await up?.stop();
    rmSync(work, { recursive: true, force: true });
  });

  it('deploys every valid save under the function name there, follows its runs, and sends no .env value', async () => {
    const dev = new EventProcess(process.execPath, [BIN, 'dev', dir, '--remote', '--json'], { env });
    try {
      const started = await dev.next((e) => e.event === 'started', WAIT_MS, true);
      assert.deepEqual([started.mode, started.url], ['remote', upUrl]);
      await dev.next((e) => e.event === 'reloaded' && e.version === 1, WAIT_MS, true);
      const first = await get(`${upUrl}/fn/${name}/`);
      assert.deepEqual(first.body, { version: 'v1', greeting: 'from-yaml', override: 'from-yaml', local: null });
      const call = await dev.next(callOf(first.runId), WAIT_MS, true);
      assert.equal(call.httpStatus, 200);
      assert.ok((call.logs as { msg: string }[]).some((l) => l.msg === `working ${first.runId}`));

      // A value set there since (env set), not in platform.yaml: the next reload removes it, and says so.
      const set = await spawnCli(['env', 'set', name, 'EXTRA=1'], { env, cwd: work });
      assert.equal(set.code, 0, set.stderr);
      const reloaded = dev.next((e) => e.event === 'reloaded' && e.version === 2, WAIT_MS);
      writeFileSync(join(dir, 'main.py'), handler('v2'));
      const event = await reloaded;
      assert.deepEqual((event.settingChanges as { removed: string[] }).removed, ['env.EXTRA']);
      assert.equal((await get(`${upUrl}/fn/${name}/`)).body.version, 'v2');
    } finally {
      assert.equal(await dev.stop(), 0);
    }
    // The function stays deployed there.
    assert.equal((await get(`${upUrl}/fn/${name}/`)).body.version, 'v2');
  });

  it("its banner's env hint names the function and the CLI as it runs here (ADR 0055)", async () => {
    const child = spawn(process.execPath, [BIN, 'dev', dir, '--remote'], { env, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no banner in ${WAIT_MS} ms:\n${out}`)), WAIT_MS);
      child.stdout!.on('data', (b: Buffer) => {
        out += b.toString();
        if (out.includes('Ctrl-C stops.')) { clearTimeout(timer); resolve(); }
      });
    });
    const exited = once(child, 'exit');
    child.kill('SIGINT');
    await exited;
    // Run from the repository (this test's cwd): `npx fastapi-platform`, with the function's name.
    assert.ok(out.includes(`\`npx fastapi-platform env set ${name} NAME=… --secret\``), out);
  });

  it('refuses the options of the platform it would start (exit 2)', async () => {
    const dev = new EventProcess(process.execPath, [BIN, 'dev', dir, '--remote', '--port', '9999', '--json'], { env });
    assert.equal(await dev.exited(), 2);
  });
});

describe('cli dev with declared dependencies', { skip, timeout: 240_000 }, () => {
  /** A folder whose function returns `alpha.VALUE`, declaring alpha==1.0, served from a local wheel directory: no network (as the cli e2e's deploys). */
  function alphaFolder(t: { after(fn: () => void): void }, prefix: string): { work: string; name: string; dir: string } {
    const work = mkdtempSync(join(tmpdir(), `fp-e2e-${prefix}-`));
    t.after(() => rmSync(work, { recursive: true, force: true }));
    const name = `${prefix}-${randomBytes(3).toString('hex')}`;
    const dir = join(work, name);
    mkdirSync(dir);
    writeFileSync(join(dir, 'platform.yaml'), `kind: function\nname: ${name}\n`);
    writeFileSync(join(dir, 'requirements.txt'), 'alpha==1.0\n');
    writeFileSync(join(dir, 'main.py'), 'import alpha\ndef handler(event, context):\n    return alpha.VALUE\n');
    writeWheel(join(work, 'wheels'), { name: 'alpha', version: '1.0', modules: { 'alpha.py': 'VALUE = "alpha-1.0"\n' } });
    return { work, name, dir };
  }

  it('says how the dependency build goes, then serves the version with them (it was silent for the whole build)', async (t) => {
    const { work, name, dir } = alphaFolder(t, 'devdeps');
    const env = { PATH: process.env.PATH ?? '', HOME: work, FP_CONFIG_DIR: join(work, 'config'), FP_DEPS_INDEX_URL: 'none', FP_DEPS_FIND_LINKS: join(work, 'wheels') };
    const startDev = (): EventProcess => new EventProcess(process.execPath, [BIN, 'dev', dir, '--json', '--port', '0'], { env });
    const dev = startDev();
    let depsDir = '';
    try {
      const started = await dev.next((e) => e.event === 'started', WAIT_MS, true);
      depsDir = String(started.depsDir);
      assert.ok(depsDir.startsWith(join(work, '.cache', 'fastapi-platform', 'dev')), depsDir);
      const progress = await dev.next((e) => e.event === 'dependencies', WAIT_MS, true);
      assert.match(String(progress.progress), /^dependencies: /);
      await dev.next((e) => e.event === 'reloaded' && e.version === 1, WAIT_MS, true);
      assert.equal((await get(`${String(started.url)}/fn/${name}/`)).body as unknown, 'alpha-1.0');
      // A second dev of the same folder meanwhile builds in its own state: the cache is one platform's.
      const other = startDev();
      try {
        const otherStarted = await other.next((e) => e.event === 'started', WAIT_MS, true);
        assert.notEqual(otherStarted.depsDir, depsDir);
        await other.next((e) => e.event === 'reloaded' && e.version === 1, WAIT_MS, true);
        assert.equal(other.take((e) => e.event === 'dependencies').length > 0, true, 'it built its own');
      } finally {
        await other.stop(30_000);
      }
    } finally {
      await dev.stop(30_000);
    }
    // The next start serves the same declaration from the sites the first one built: no build (apps round 11: 62 s each start).
    const again = startDev();
    try {
      const started = await again.next((e) => e.event === 'started', WAIT_MS, true);
      assert.equal(started.depsDir, depsDir);
      await again.next((e) => e.event === 'reloaded' && e.version === 1, WAIT_MS, true);
      assert.deepEqual(again.take((e) => e.event === 'dependencies'), [], 'dependencies built again');
      assert.equal((await get(`${String(started.url)}/fn/${name}/`)).body as unknown, 'alpha-1.0');
    } finally {
      await again.stop(30_000);
    }
  });

  it('says a failed dependency build once: its refusal, not also the platform\'s log line for the operator (journey round 11)', async (t) => {
    const { work, dir } = alphaFolder(t, 'devfail');
    writeFileSync(join(dir, 'requirements.txt'), 'alpha==9.9\n'); // not among the wheels
    const env = { PATH: process.env.PATH ?? '', HOME: work, FP_CONFIG_DIR: join(work, 'config'), FP_DEPS_INDEX_URL: 'none', FP_DEPS_FIND_LINKS: join(work, 'wheels') };
    const dev = new EventProcess(process.execPath, [BIN, 'dev', dir, '--json', '--port', '0'], { env });
    try {
      const refused = await dev.next((e) => e.event === 'refused', WAIT_MS, true);
      assert.equal(refused.code, 'DEPS_NOT_FOUND', JSON.stringify(refused));
      assert.doesNotMatch(dev.errors(), /deps: build of /, dev.errors());
    } finally {
      await dev.stop(30_000);
    }
  });

  it('keeps no sites in a cache other users can write: one of them swapped a built site for its own, imported at the next start (red team 13)', async (t) => {
    const { work, name, dir } = alphaFolder(t, 'devshared');
    // A cache directory every local user can write (FP_CACHE_DIR=/tmp/cache on a shared machine).
    const cache = join(work, 'shared-cache');
    mkdirSync(cache);
    chmodSync(cache, 0o777);
    const env = { PATH: process.env.PATH ?? '', HOME: work, FP_CONFIG_DIR: join(work, 'config'), FP_CACHE_DIR: cache, FP_DEPS_INDEX_URL: 'none', FP_DEPS_FIND_LINKS: join(work, 'wheels') };
    const startDev = (): EventProcess => new EventProcess(process.execPath, [BIN, 'dev', dir, '--json', '--port', '0'], { env });
    const first = startDev();
    try {
      const started = await first.next((e) => e.event === 'started', WAIT_MS, true);
      assert.ok(!String(started.depsDir).startsWith(cache), `the sites were kept in ${String(started.depsDir)}`);
      assert.match(String(started.depsCacheRefused), /shared-cache can be written by other users \(mode 777\)/);
      await first.next((e) => e.event === 'reloaded' && e.version === 1, WAIT_MS, true);
      assert.equal((await get(`${String(started.url)}/fn/${name}/`)).body as unknown, 'alpha-1.0');
    } finally {
      await first.stop(30_000);
    }
    // What another user could do between two starts: every built site renamed aside, its own in its place.
    const roots = existsSync(join(cache, 'dev')) ? readdirSync(join(cache, 'dev')).map((h) => join(cache, 'dev', h, 'deps')) : [];
    for (const deps of roots) {
      for (const lock of readdirSync(deps).filter((f) => /^[0-9a-f]{64}$/.test(f))) {
        renameSync(join(deps, lock), join(deps, `${lock}.aside`));
        mkdirSync(join(deps, lock, 'site'), { recursive: true });
        writeFileSync(join(deps, lock, 'site', 'alpha.py'), 'VALUE = "planted"\n');
      }
    }
    const again = startDev();
    try {
      const started = await again.next((e) => e.event === 'started', WAIT_MS, true);
      await again.next((e) => e.event === 'reloaded' && e.version === 1, WAIT_MS, true);
      assert.equal((await get(`${String(started.url)}/fn/${name}/`)).body as unknown, 'alpha-1.0');
    } finally {
      await again.stop(30_000);
    }
  });

  it('builds in its own state when the cache directory cannot be written (it refused to start: EACCES, or STORAGE_FULL naming the state)', async (t) => {
    const { work, name, dir } = alphaFolder(t, 'devcache');
    // A cache directory nothing can be made in, whoever runs the test (root passes every mode): a file in its place.
    writeFileSync(join(work, 'cache'), 'not a directory');
    const env = { PATH: process.env.PATH ?? '', HOME: work, FP_CONFIG_DIR: join(work, 'config'), FP_CACHE_DIR: join(work, 'cache'), FP_DEPS_INDEX_URL: 'none', FP_DEPS_FIND_LINKS: join(work, 'wheels') };
    const dev = new EventProcess(process.execPath, [BIN, 'dev', dir, '--json', '--port', '0'], { env });
    try {
      const started = await dev.next((e) => e.event === 'started', WAIT_MS, true);
      assert.ok(String(started.depsDir).startsWith(String(started.stateDir)), String(started.depsDir));
      assert.equal(typeof started.depsCacheRefused, 'string', 'the started event says why');
      await dev.next((e) => e.event === 'reloaded' && e.version === 1, WAIT_MS, true);
      assert.equal((await get(`${String(started.url)}/fn/${name}/`)).body as unknown, 'alpha-1.0');
    } finally {
      await dev.stop(30_000);
    }
  });
});
