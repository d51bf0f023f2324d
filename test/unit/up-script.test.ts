/**
 * `npm start` (scripts/up.sh) hides setup's own lines; on a fresh clone, where setup installs for
 * minutes, it says first that it is installing (new-user round 3: the terminal showed nothing but
 * npm's `> bash scripts/up.sh` for four minutes). Run on a copy of the script with stand-ins for
 * setup.sh and the CLI.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { chmodSync, copyFileSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { ROOT } from '../helpers/cli-harness.js';

function runUp(dir: string): { stdout: string; stderr: string } {
  const result = execFileSync('bash', ['-c', 'bash scripts/up.sh --port 1 2>"$0.err"', join(dir, 'out')], { cwd: dir, encoding: 'utf8' });
  return { stdout: result, stderr: execFileSync('cat', [join(dir, 'out.err')], { encoding: 'utf8' }) };
}

describe('npm start (scripts/up.sh)', () => {
  const dir = mkdtempSync(join(tmpdir(), 'fp-up-script-'));
  after(() => rmSync(dir, { recursive: true, force: true }));
  mkdirSync(join(dir, 'scripts'));
  mkdirSync(join(dir, 'bin'));
  copyFileSync(join(ROOT, 'scripts', 'up.sh'), join(dir, 'scripts', 'up.sh'));
  writeFileSync(join(dir, 'scripts', 'setup.sh'), 'echo "setup: installing (stand-in)"\n');
  writeFileSync(join(dir, 'bin', 'fastapi-platform.js'), 'console.log("up", process.argv.slice(2).join(" "));\n');

  it('says it is installing first on a fresh clone (no node_modules or .venv), setup\'s lines still hidden', () => {
    const fresh = runUp(dir);
    assert.match(fresh.stderr, /^npm start: installing the Node packages and the Python environment \(\.venv\) first: a few minutes on a fresh clone/);
    assert.equal(fresh.stdout, 'up up --demo --port 1\n');
  });

  it('says nothing of it once both are installed', () => {
    mkdirSync(join(dir, 'node_modules'));
    mkdirSync(join(dir, '.venv', 'bin'), { recursive: true });
    writeFileSync(join(dir, '.venv', 'bin', 'python'), '');
    chmodSync(join(dir, '.venv', 'bin', 'python'), 0o755);
    const again = runUp(dir);
    assert.equal(again.stderr, '');
    assert.equal(again.stdout, 'up up --demo --port 1\n');
  });
});
