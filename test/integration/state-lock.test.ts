/**
 * One state directory, one platform process (platform/state-lock.ts, docs/adr/0056-state-dir-lock.md):
 * a live owner refuses a second start, a dead one (or a reused pid) is taken over, and a release
 * removes only its own lock.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { LOCK_FILE, lockStateDir } from '../../platform/state-lock.js';
import { isPlatformError } from '../../protocol/index.js';

function stateDir(t: { after(fn: () => void): void }): string {
  const dir = mkdtempSync(join(tmpdir(), 'fp-lock-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

function startTime(pid: number): string {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  return stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19]!;
}

const inUse = (err: unknown): boolean => isPlatformError(err) && err.code === 'STATE_DIR_IN_USE';

describe('the state directory lock', () => {
  it('refuses a second platform in this process, and is free again once released', (t) => {
    const dir = stateDir(t);
    const first = lockStateDir(dir);
    assert.throws(() => lockStateDir(dir), (err) => inUse(err) && /in use by another platform process/.test((err as Error).message));
    first.release();
    assert.equal(existsSync(join(dir, LOCK_FILE)), false, 'released: the file is gone');
    lockStateDir(dir).release();
  });

  it('refuses while another live process holds it, and takes it over once that process is gone', async (t) => {
    const dir = stateDir(t);
    const other = spawn('sleep', ['30'], { stdio: 'ignore' });
    t.after(() => other.kill('SIGKILL'));
    await new Promise((resolve) => other.once('spawn', resolve));
    writeFileSync(join(dir, LOCK_FILE), `${other.pid} ${startTime(other.pid!)}\n`);
    assert.throws(() => lockStateDir(dir), (err) => inUse(err) && (err as { details: { pid: number } }).details.pid === other.pid);
    other.kill('SIGKILL');
    await new Promise((resolve) => other.once('exit', resolve));
    const lock = lockStateDir(dir);
    assert.match(readFileSync(join(dir, LOCK_FILE), 'utf8'), new RegExp(`^${process.pid} `), 'ours now');
    lock.release();
  });

  it('takes over a lock whose pid now belongs to another process (other start time)', (t) => {
    const dir = stateDir(t);
    writeFileSync(join(dir, LOCK_FILE), `1 12345\n`); // pid 1 is alive, but did not start at tick 12345
    lockStateDir(dir).release();
  });

  it('does not remove a lock it no longer owns', (t) => {
    const dir = stateDir(t);
    const lock = lockStateDir(dir);
    writeFileSync(join(dir, LOCK_FILE), `999999 1\n`);
    lock.release();
    assert.equal(readFileSync(join(dir, LOCK_FILE), 'utf8'), '999999 1\n');
  });
});
