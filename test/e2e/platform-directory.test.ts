/**
 * Directory mode of the one entry point (`node dist/platform/main.js --functions DIR`): it serves
 * the examples without a store, API or async wing (and `/metrics` in full without a token), writes
 * nothing (no state directory, no key file), stops cleanly on SIGTERM, and refuses what it cannot
 * do: no native uWS binary, bad
 * settings (all listed), a bad functions directory, and flags of the store mode.
 */
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { KEY_FILE, started, startMain } from './main-harness.js';

// dist/test/e2e → the repository root.
const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
const EXAMPLES = join(ROOT, 'examples');

function tempDir(t: { after(fn: () => void): void }): string {
  const dir = mkdtempSync(join(tmpdir(), 'fp-dir-mode-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

describe('platform process, directory mode', () => {
  it('serves the examples without store or API, writes no state, and stops cleanly on SIGTERM', async (t) => {
    const scratch = tempDir(t);
    const stateDir = join(scratch, 'state');
    const proc = startMain(['--functions', EXAMPLES, '--port', '0'], { FP_STATE_DIR: stateDir });
    const { url, token } = await started(proc, 'sandbox:');
    assert.equal(token, undefined);
    assert.match(proc.stdout(), /hello \([0-9a-f]{12}\)/);

    const hello = await fetch(`${url}/fn/hello/?name=Ada`);
    assert.equal(hello.status, 200);
    assert.equal(((await hello.json()) as { message: string }).message, 'hello, Ada');
    const items = await fetch(`${url}/fn/fastapi-app/items/7?q=x`);
    assert.equal(items.status, 200);
    assert.deepEqual(await items.json(), { item_id: 7, q: 'x', item: null });
    // No control plane: no API, no async runs.
    const api = await fetch(`${url}/api/v1/functions`);
    assert.equal(((await api.json()) as { error: { code: string } }).error.code, 'ROUTE_NOT_FOUND');
    const queued = await fetch(`${url}/async/hello/`, { method: 'POST', body: '{}' });
    assert.equal(queued.status, 503);
    assert.equal(((await queued.json()) as { error: { code: string } }).error.code, 'ASYNC_NOT_ENABLED');
    assert.equal((await fetch(`${url}/readyz`)).status, 200);
    // One owner, no tokens: /metrics serves every function's series to anyone (ADR 0036), as before.
    const metrics = await fetch(`${url}/metrics`);
    assert.equal(metrics.status, 200);
    assert.match(await metrics.text(), /^fp_invocations_total\{function="hello",status="ok",cold="true"\} 1$/m);
    const withToken = await fetch(`${url}/metrics`, { headers: { authorization: 'Bearer anything' } });
    assert.equal(withToken.status, 200, 'no tokens to check: a sent one changes nothing');
    assert.match(await withToken.text(), /function="fastapi-app"/);

    proc.child.kill('SIGTERM');
    const exit = await proc.exited;
    assert.equal(exit.code, 0, exit.stderr);
    assert.match(exit.stdout, /stopped/);
    assert.equal(existsSync(stateDir), false, 'directory mode wrote a state directory');
    assert.equal(existsSync(KEY_FILE), false, 'directory mode created a secrets key file');
    // New-user round 3: bookshelf's every call failed (FUNCTION_INIT_FAILED, its run record
    // unreadable here) and nothing said why; the start names what directory mode does not provide.
    assert.match(exit.stderr, /platform: warning: function bookshelf declares dependencies \(requirements\.txt\) and a data binding \(data\.mongo\), which directory mode does not provide: .*deploy it to a platform instead/);
    assert.doesNotMatch(exit.stderr, /function (hello|fastapi-app) declares/);
  });

  it('FP_POOL_WARM_NEXT=1: a cold start takes the generic runtime that ran the specialize path while it waited (ADR 0114); off by default', async (t) => {
    const functions = join(tempDir(t), 'functions');
    const names = ['w1', 'w2', 'w3', 'w4', 'w5', 'w6'];
    for (const name of names) {
      mkdirSync(join(functions, name), { recursive: true });
      writeFileSync(join(functions, name, 'platform.yaml'), `kind: function\nname: ${name}\nentrypoint: main:handler\n`);
      writeFileSync(join(functions, name, 'main.py'), 'def handler(event, context):\n    from fp_runtime import main\n    return {"warmed": main._warmed == [True]}\n');
    }
    const warmedCalls = async (env: Record<string, string>): Promise<boolean[]> => {
      const proc = startMain(['--functions', functions, '--port', '0'], env);
      const { url } = await started(proc, 'sandbox:');
      const seen: boolean[] = [];
      // Each name's first call is a cold start from the pool (of one, refilled after each take);
      // the refill is warmed ~30 ms after it is ready: a pause lets it be, when warming is on.
      for (const name of names) {
        await new Promise((r) => setTimeout(r, 400));
        const res = await fetch(`${url}/fn/${name}/`);
        assert.equal(res.status, 200);
        seen.push(((await res.json()) as { warmed: boolean }).warmed);
      }
      proc.child.kill('SIGTERM');
      await proc.exited;
      return seen;
    };
    assert.ok((await warmedCalls({ FP_POOL_WARM_NEXT: '1' })).includes(true), 'no cold start took a warmed runtime');
    assert.deepEqual(await warmedCalls({}), names.map(() => false));
  });

  it('refuses to start, with UWS_FALLBACK and the reason, when uWebSockets.js has no binary here', async (t) => {
    // A module hook makes the package throw at import, as it does on a Node.js ABI, platform or
    // C library it ships no binary for.
    const dir = tempDir(t);
    writeFileSync(
      join(dir, 'hooks.mjs'),
      'export async function resolve(specifier, context, next) {\n' +
        "  if (specifier === 'uWebSockets.js') return { url: 'data:text/javascript,throw new Error(\"no binary for this platform (test)\")', shortCircuit: true };\n" +
        '  return next(specifier, context);\n}\n',
    );
    writeFileSync(join(dir, 'register.mjs'), "import { register } from 'node:module';\nregister('./hooks.mjs', import.meta.url);\n");
    const functions = join(dir, 'functions');
    mkdirSync(functions);
    const exit = await startMain(['--functions', functions, '--port', '0'], { NODE_OPTIONS: `--import ${join(dir, 'register.mjs')}` }).exited;
    assert.equal(exit.code, 1);
    assert.match(exit.stderr, /\[UWS_FALLBACK\]/);
    assert.match(exit.stderr, /no binary for this platform \(test\)/);
    assert.doesNotMatch(exit.stderr, /\n\s+at /, 'no stack trace');
    assert.doesNotMatch(exit.stdout, /listening on/);
  });

  it('lists every bad setting in one error and exits 1, the production store included', async (t) => {
    const exit = await startMain(['--functions', tempDir(t)], { FP_PORT: 'eighty', FP_POOL_SIZE: '0', FP_MAX_BODY_BYTES: '-1', FP_STORE: 'production', FP_REDIS_URL: 'redis://127.0.0.1:1', FP_MONGO_URL: 'mongodb://127.0.0.1:1/' }).exited;
    assert.equal(exit.code, 1);
    assert.match(exit.stderr, /\[BAD_CONFIG\]/);
    for (const key of ['FP_PORT', 'FP_POOL_SIZE', 'FP_MAX_BODY_BYTES', 'FP_FUNCTIONS_DIR']) assert.match(exit.stderr, new RegExp(key));
  });

  it('refuses a functions directory with an invalid function (exit 1, BAD_FUNCTIONS_DIR, every problem named)', async (t) => {
    const dir = tempDir(t);
    mkdirSync(join(dir, 'broken'));
    writeFileSync(join(dir, 'broken', 'platform.yaml'), 'kind: function\nname: broken\nlimits: {cpu: 2}\n');
    const exit = await startMain(['--functions', dir, '--port', '0']).exited;
    assert.equal(exit.code, 1);
    assert.match(exit.stderr, /\[BAD_FUNCTIONS_DIR\]/);
    assert.match(exit.stderr, /\[broken\].*limits\.cpu/s);
  });

  it('--version prints the package\'s version, as the CLI\'s does, and exits 0 without starting', async () => {
    const exit = await startMain(['--version']).exited;
    assert.equal(exit.code, 0);
    const pkg = JSON.parse(readFileSync(resolve(dirname(fileURLToPath(import.meta.url)), '../../../package.json'), 'utf8')) as { version: string };
    assert.equal(exit.stdout, `${pkg.version}\n`);
  });

  it('exits 2 (USAGE) for flags of the store mode', async (t) => {
    for (const flag of [['--state-dir', tempDir(t)], ['--rotate-admin-token'], ['--rotate-secrets-key']]) {
      const exit = await startMain(['--functions', EXAMPLES, ...flag]).exited;
      assert.equal(exit.code, 2, flag.join(' '));
      assert.match(exit.stderr, /\[USAGE\]/);
    }
  });
});
