/**
 * `up` on a state directory that was moved or copied (a renamed checkout moves its ./.state; a
 * backup restored elsewhere): the credentials file holds its admin token under the old path and
 * URL. The start said "no admin token saved for this state directory (it is shown only on its first
 * start)", and every command went on calling the old URL (UNREACHABLE), or refused to send the
 * token to the new one (new-user round 4). The saved token is tried against the platform now.
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
