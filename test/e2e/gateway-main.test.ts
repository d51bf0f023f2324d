/**
 * The gateway as a process (`node dist/gateway/main.js`): it serves the examples, stops cleanly
 * on SIGTERM, refuses to start on uWebSockets.js' JavaScript fallback, and lists bad settings.
 */
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';

// dist/test/e2e → the repository root.
const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
const MAIN = join(ROOT, 'dist', 'gateway', 'main.js');

interface Exit {
  code: number | null;
  stdout: string;
  stderr: string;
}

function startMain(args: string[], env: Record<string, string> = {}): { child: ChildProcess; exited: Promise<Exit>; output: () => string } {
  const base: Record<string, string> = {};
  // Only what node needs: no FP_* settings of the surrounding shell leak into the test.
  for (const key of ['PATH', 'HOME', 'LANG']) if (process.env[key] !== undefined) base[key] = process.env[key]!;
  const child = spawn(process.execPath, [MAIN, ...args], { env: { ...base, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout!.on('data', (c: Buffer) => (stdout += c.toString()));
  child.stderr!.on('data', (c: Buffer) => (stderr += c.toString()));
  const exited = new Promise<Exit>((done) => child.on('exit', (code) => done({ code, stdout, stderr })));
  return { child, exited, output: () => stdout };
}

async function waitFor<T>(probe: () => T | undefined, timeoutMs: number): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error('timed out waiting');
    await new Promise((r) => setTimeout(r, 20));
  }
}

describe('gateway process', () => {
  it('serves the examples, then stops cleanly on SIGTERM', async (t) => {
    const proc = startMain(['--functions', join(ROOT, 'examples'), '--port', '0']);
    t.after(() => proc.child.kill('SIGKILL'));
    const url = await waitFor(() => /listening on (http:\/\/\S+)/.exec(proc.output())?.[1], 20_000);

    const hello = await fetch(`${url}/fn/hello/?name=Ada`);
    assert.equal(hello.status, 200);
    assert.equal(((await hello.json()) as { message: string }).message, 'hello, Ada');
    const items = await fetch(`${url}/fn/fastapi-app/items/7?q=x`);
    assert.equal(items.status, 200);
    assert.deepEqual(await items.json(), { item_id: 7, q: 'x', item: null });

    proc.child.kill('SIGTERM');
    const exit = await proc.exited;
    assert.equal(exit.code, 0, exit.stderr);
    assert.match(exit.stdout, /stopped/);
  });

  it('refuses to start on the JavaScript fallback of uWebSockets.js', async (t) => {
    const dir = mkdtempSync(join(tmpdir(), 'fp-gw-main-'));
    t.after(() => rmSync(dir, { recursive: true, force: true }));
    const proc = startMain(['--functions', dir, '--port', '0'], { UWS_USE_FALLBACK: '1' });
    t.after(() => proc.child.kill('SIGKILL'));
    const exit = await proc.exited;
    assert.notEqual(exit.code, 0);
    assert.match(exit.stderr, /\[UWS_FALLBACK\]/);
    assert.doesNotMatch(exit.stdout, /listening on/);
  });

  it('lists every bad setting in one error and exits 1', async (t) => {
    const dir = mkdtempSync(join(tmpdir(), 'fp-gw-main-'));
    t.after(() => rmSync(dir, { recursive: true, force: true }));
    const proc = startMain(['--functions', dir], { FP_PORT: 'eighty', FP_POOL_SIZE: '0', FP_MAX_BODY_BYTES: '-1' });
    t.after(() => proc.child.kill('SIGKILL'));
    const exit = await proc.exited;
    assert.equal(exit.code, 1);
    assert.match(exit.stderr, /\[BAD_CONFIG\]/);
    for (const key of ['FP_PORT', 'FP_POOL_SIZE', 'FP_MAX_BODY_BYTES']) assert.match(exit.stderr, new RegExp(key));
  });

  it('exits 2 with usage when no functions directory is given', async (t) => {
    const proc = startMain([]);
    t.after(() => proc.child.kill('SIGKILL'));
    const exit = await proc.exited;
    assert.equal(exit.code, 2);
    assert.match(exit.stderr, /\[USAGE\]/);
  });
});
