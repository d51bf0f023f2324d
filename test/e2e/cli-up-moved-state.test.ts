/**
 * `up` on a state directory that was moved or copied (a renamed checkout moves its ./.state; a
 * backup restored elsewhere): the credentials file holds its admin token under the old path and
 * URL. The start said "no admin token saved for this state directory (it is shown only on its first
 * start)", and every command went on calling the old URL (UNREACHABLE), or refused to send the
 * token to the new one (new-user round 4). The saved token is tried against the platform now.
 * And `up` on the same state directory after `--rotate-admin-token`: the banner sent the console's
 * sign-in to the saved token, which was revoked, and the demo failed on it (new-user round 7).
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, renameSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { BIN, ROOT, spawnCli } from '../helpers/cli-harness.js';

const skip = existsSync(join(ROOT, 'dist', 'platform', 'start.js')) ? false : 'the platform is not built';

/** Runs `up` on `stateDir` until its banner's last line, then stops it; returns what it printed. */
async function upOnce(stateDir: string, env: Record<string, string>): Promise<{ stdout: string; stderr: string }> {
  const up = spawn(process.execPath, [BIN, 'up', '--state-dir', stateDir, '--port', '0'], { cwd: ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  up.stderr.on('data', (b: Buffer) => { stderr += b.toString(); });
  const exited = new Promise((resolve) => up.on('exit', resolve));
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`up did not start in 60 s:\n${stdout}\n${stderr}`)), 60_000);
    up.stdout.on('data', (b: Buffer) => {
      stdout += b.toString();
      if (stdout.includes('Press Ctrl-C to stop.')) { clearTimeout(timer); resolve(); }
    });
    up.on('exit', (code) => { clearTimeout(timer); reject(new Error(`up exited with ${code}:\n${stdout}\n${stderr}`)); });
  });
  // A command while it runs: it finds this platform with the saved credentials.
  const functions = await spawnCli(['functions'], { env });
  stdout += `\n[functions: exit ${functions.code}] ${functions.stderr}`;
  up.kill('SIGTERM');
  await exited;
  return { stdout, stderr };
}

describe('up on a state directory moved elsewhere', { skip, timeout: 180_000 }, () => {
  const work = mkdtempSync(join(tmpdir(), 'fp-moved-state-'));
  after(() => rmSync(work, { recursive: true, force: true }));

  it('takes the saved admin token that is its own, says so, and the CLI follows it to the new URL', async () => {
    const env = { FP_CONFIG_DIR: join(work, 'config'), HOME: work, PATH: process.env.PATH ?? '' };
    const first = await upOnce(join(work, 'old'), env);
    assert.match(first.stdout, /Admin token \(shown only this once/, first.stdout);
    assert.match(first.stdout, /\[functions: exit 0\]/, first.stdout);
    renameSync(join(work, 'old'), join(work, 'moved'));

    const second = await upOnce(join(work, 'moved'), env);
    assert.doesNotMatch(second.stderr, /no admin token saved/, second.stderr);
    assert.match(second.stderr, /note: the saved admin token, of \S+\/old, is this platform's: its state was moved or copied to \S+\/moved; the CLI uses http:\/\/127\.0\.0\.1:\d+ now\./, second.stderr);
    assert.match(second.stdout, /\[functions: exit 0\]/, second.stdout);
    const saved = JSON.parse(readFileSync(join(work, 'config', 'credentials.json'), 'utf8')) as { stateDir: string };
    assert.equal(saved.stateDir, join(work, 'moved'));
  });
});

/** `node dist/platform/main.js --rotate-admin-token` on `stateDir` until it prints the new token, then stopped; returns it. */
async function rotate(stateDir: string, env: Record<string, string>): Promise<string> {
  const main = spawn(process.execPath, [join(ROOT, 'dist', 'platform', 'main.js'), '--rotate-admin-token', '--state-dir', stateDir, '--port', '0'], { cwd: ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  const exited = new Promise((resolve) => main.on('exit', resolve));
  const token = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`--rotate-admin-token printed no token in 60 s:\n${out}`)), 60_000);
    const read = (b: Buffer): void => {
      out += b.toString();
      const m = /admin token: (fpa_\S+)/.exec(out);
      if (m) { clearTimeout(timer); resolve(m[1]!); }
    };
    main.stdout.on('data', read);
    main.stderr.on('data', read);
  });
  main.kill('SIGTERM');
  await exited;
  return token;
}

describe('up on a state directory whose admin token was rotated since it was saved', { skip, timeout: 180_000 }, () => {
  const work = mkdtempSync(join(tmpdir(), 'fp-rotated-state-'));
  after(() => rmSync(work, { recursive: true, force: true }));

  it('says the saved token was refused and how to give the new one to the CLI, and sends the console to no revoked token', async () => {
    const env = { FP_CONFIG_DIR: join(work, 'config'), HOME: work, PATH: process.env.PATH ?? '' };
    const state = join(work, 'state');
    await upOnce(state, env);
    const fresh = await rotate(state, env);
    assert.match(fresh, /^fpa_/);
    const second = await upOnce(state, env);
    assert.match(second.stderr, /note: the admin token saved for this state directory \(in \S+credentials\.json\) was refused since it was saved \(unknown, revoked or rotated: --rotate-admin-token replaces it\)\. Give the new one to the CLI with `[^`]*login http:\/\/127\.0\.0\.1:\d+`/, second.stderr);
    assert.doesNotMatch(second.stdout, /"token" in/, second.stdout);
    assert.match(second.stdout, /console: +\S+ \(sign in with the admin token\)$/m, second.stdout);
  });
});
