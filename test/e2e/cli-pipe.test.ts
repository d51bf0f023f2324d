/**
 * The CLI writing into a pipe whose reader went away (`fastapi-platform runs | head -1`,
 * `logs -f | head`): no EPIPE stack trace; a one-shot command still does its work and exits with its
 * own code; a command that runs until stopped (`up`, `logs -f`, `dev`) stops as on Ctrl-C.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { BIN, ROOT } from '../helpers/cli-harness.js';

/** Spawns the CLI with its stdout closed at once (the reader is gone); resolves with its exit and stderr. */
function withClosedStdout(argv: string[], env: Record<string, string>, timeoutMs = 30_000): Promise<{ code: number | null; signal: string | null; stderr: string }> {
  return new Promise((resolvePromise, reject) => {
    const child = spawn(process.execPath, [BIN, ...argv], { cwd: ROOT, env: { PATH: process.env.PATH ?? '', ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    child.stdout.destroy();
    let stderr = '';
    child.stderr.on('data', (b: Buffer) => { stderr += b.toString(); });
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`fastapi-platform ${argv.join(' ')} was still running after ${timeoutMs} ms with its stdout closed\n${stderr}`));
    }, timeoutMs);
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      resolvePromise({ code, signal, stderr });
    });
  });
}

describe('cli with its stdout closed', { timeout: 90_000 }, () => {
  let work = '';
  let env: Record<string, string> = {};
  before(() => {
    work = mkdtempSync(join(tmpdir(), 'fp-cli-pipe-'));
    env = { FP_CONFIG_DIR: join(work, 'config'), HOME: work };
  });
  after(() => rmSync(work, { recursive: true, force: true }));

  it('a one-shot command does its work and exits 0, without an EPIPE trace', async () => {
    const dir = join(work, 'fn');
    const r = await withClosedStdout(['init', dir], env);
    assert.doesNotMatch(r.stderr, /EPIPE|Unhandled/, r.stderr);
    assert.deepEqual([r.code, r.signal], [0, null], r.stderr);
    assert.ok(existsSync(join(dir, 'main.py')) && existsSync(join(dir, 'platform.yaml')), 'init wrote the function');
  });

  it('up stops cleanly (exit 0) as on Ctrl-C, instead of crashing', { skip: existsSync(join(ROOT, 'dist', 'platform', 'start.js')) ? false : 'the platform is not built' }, async () => {
    const r = await withClosedStdout(['up', '--state-dir', join(work, 'state'), '--port', '0'], env, 60_000);
    assert.doesNotMatch(r.stderr, /EPIPE|Unhandled/, r.stderr);
    assert.deepEqual([r.code, r.signal], [0, null], r.stderr);
  });
});
