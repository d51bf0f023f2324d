/**
 * One state directory, one platform process (platform/state-lock.ts, docs/adr/0056-state-dir-lock.md):
 * a live owner refuses a second start, a dead one (or a reused pid) is taken over, and a release
 * removes only its own lock.
 */
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { chmodSync, existsSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { LOCK_FILE, lockStateDir, stateDirWarnings } from '../../platform/state-lock.js';
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

  it('takes over a lock whose owner is a zombie (killed, not reaped yet by its parent)', async (t) => {
    const dir = stateDir(t);
    // A parent that forks a child which exits at once, and never reaps it.
    const parent = spawn('python3', ['-I', '-S', '-c', 'import os, sys, time\npid = os.fork()\nif pid == 0: os._exit(0)\nprint(pid, flush=True)\ntime.sleep(30)'], { stdio: ['ignore', 'pipe', 'inherit'] });
    t.after(() => parent.kill('SIGKILL'));
    const zombie = Number((await new Promise<Buffer>((resolve) => parent.stdout!.once('data', resolve))).toString().trim());
    const state = (): string => readFileSync(`/proc/${zombie}/stat`, 'utf8').split(') ')[1]!.split(' ')[0]!;
    for (let i = 0; i < 100 && state() !== 'Z'; i++) await new Promise((resolve) => setTimeout(resolve, 20));
    assert.equal(state(), 'Z');
    writeFileSync(join(dir, LOCK_FILE), `${zombie} ${startTime(zombie)}\n`);
    lockStateDir(dir).release();
  });

  // Two containers on one volume (docs/adr/0131): each platform is pid 1 (or tini's child, the same
  // pid in both), so the other's lock read as "pid 1, another start time": a reused pid, taken over.
  // Two platforms then ran on one state (reliability round 7).
  const unshare = spawnSync('unshare', ['--pid', '--fork', '--mount-proc', 'true']).status === 0;
  it('refuses while a process of another pid namespace holds it, and takes it over once that one is gone', { skip: unshare ? false : 'unshare --pid is not allowed here', timeout: 60_000 }, async (t) => {
    const dir = stateDir(t);
    const module = new URL('../../platform/state-lock.js', import.meta.url).href;
    const child = `import { lockStateDir } from ${JSON.stringify(module)};
      lockStateDir(process.argv[1]); console.log('held'); setInterval(() => {}, 60_000);`;
    const other = spawn('unshare', ['--pid', '--fork', '--mount-proc', '--kill-child', process.execPath, '--input-type=module', '-e', child, dir], { stdio: ['ignore', 'pipe', 'inherit'] });
    t.after(() => other.kill('SIGKILL'));
    await new Promise<Buffer>((resolve, reject) => { other.stdout!.once('data', resolve); other.once('exit', () => reject(new Error('the other namespace\'s process exited'))); });
    assert.match(readFileSync(join(dir, LOCK_FILE), 'utf8'), /^1 /, 'pid 1 in its namespace');
    assert.throws(() => lockStateDir(dir), (err) => inUse(err) && /another pid namespace/.test((err as Error).message));
    other.kill('SIGKILL'); // --kill-child: its platform goes with it, as a container's would
    await new Promise((resolve) => other.once('exit', resolve));
    const lock = lockStateDir(dir); // after FOREIGN_WAIT_MS without a touch
    assert.match(readFileSync(join(dir, LOCK_FILE), 'utf8'), new RegExp(`^${process.pid} `), 'ours now');
    lock.release();
  });

  it('takes over a lock whose pid now belongs to another process (other start time)', (t) => {
    const dir = stateDir(t);
    writeFileSync(join(dir, LOCK_FILE), `1 12345\n`); // pid 1 is alive, but did not start at tick 12345
    lockStateDir(dir).release();
  });

  it('of several processes taking over a dead owner\'s lock at once, exactly one gets it (red team 6)', { timeout: 120_000 }, async (t) => {
    // Before: each read the dead owner, then removed whatever lock was there, the lock just made by
    // another one too: two or three platforms on one state (about one round in two of three).
    const module = new URL('../../platform/state-lock.js', import.meta.url).href;
    // Each child says it is ready once loaded, is told the moment to try (the same for all three,
    // once all are ready), and holds what it got until told to exit: all three are alive while any
    // of them tries. A child that exited after a fixed delay left a dead owner behind, and one that
    // started late (node's start on a loaded machine) rightly took that lock over: a second "got".
    const child = `import { lockStateDir } from ${JSON.stringify(module)};
      import { once } from 'node:events';
      console.log('ready');
      process.stdin.setEncoding('utf8');
      const [line] = await once(process.stdin, 'data');
      const at = Number(line); while (Date.now() < at) {}
      try { lockStateDir(process.argv[1]); console.log('got'); } catch (e) { console.log(e.code ?? String(e)); }
      process.stdin.on('end', () => process.exit(0));
      process.stdin.resume();`;
    for (let round = 0; round < 8; round++) {
      const dir = stateDir(t);
      writeFileSync(join(dir, LOCK_FILE), '999999 1\n');
      const children = [0, 1, 2].map(() => {
        const p = spawn(process.execPath, ['--input-type=module', '-e', child, dir], { stdio: ['pipe', 'pipe', 'inherit'] });
        t.after(() => p.kill('SIGKILL'));
        const lines: string[] = [];
        const waiters: (() => void)[] = [];
        let buffered = '';
        p.stdout.on('data', (d: Buffer) => {
          buffered += d.toString();
          for (let i = buffered.indexOf('\n'); i >= 0; i = buffered.indexOf('\n')) {
            lines.push(buffered.slice(0, i).trim());
            buffered = buffered.slice(i + 1);
            waiters.splice(0).forEach((w) => w());
          }
        });
        let gone = false;
        const exited = new Promise<void>((resolve) => p.on('exit', () => { gone = true; waiters.splice(0).forEach((w) => w()); resolve(); }));
        const line = async (n: number): Promise<string> => {
          while (lines.length <= n) {
            if (gone) throw new Error(`round ${round}: a child exited after ${JSON.stringify(lines)}`);
            await new Promise<void>((resolve) => waiters.push(resolve));
          }
          return lines[n]!;
        };
        return { p, line, exited };
      });
      assert.deepEqual(await Promise.all(children.map((c) => c.line(0))), ['ready', 'ready', 'ready']);
      const at = Date.now() + 50;
      for (const c of children) c.p.stdin.write(`${at}\n`);
      const outs = await Promise.all(children.map((c) => c.line(1)));
      for (const c of children) c.p.stdin.end();
      await Promise.all(children.map((c) => c.exited));
      assert.equal(outs.filter((o) => o === 'got').length, 1, `round ${round}: ${outs.join(', ')}`);
      assert.deepEqual(outs.filter((o) => o !== 'got'), ['STATE_DIR_IN_USE', 'STATE_DIR_IN_USE'], `round ${round}: ${outs.join(', ')}`);
    }
  });

  it('a symbolic link in the lock\'s place is replaced, its target neither read as an owner nor touched', (t) => {
    const dir = stateDir(t);
    const target = join(dir, 'elsewhere');
    writeFileSync(target, '1\n'); // pid 1, alive: read through the link, a refusal
    symlinkSync(target, join(dir, LOCK_FILE));
    lockStateDir(dir).release();
    assert.equal(readFileSync(target, 'utf8'), '1\n');
    symlinkSync(join(dir, 'nowhere'), join(dir, LOCK_FILE)); // dangling: before, 'could not take the lock'
    lockStateDir(dir).release();
  });

  it('a state directory every user can write to is told at start (red team 6)', (t) => {
    const dir = stateDir(t);
    assert.deepEqual(stateDirWarnings(dir), []);
    chmodSync(dir, 0o777);
    const warnings = stateDirWarnings(dir);
    assert.equal(warnings.length, 1);
    assert.match(warnings[0]!, /writable by every user \(mode 777\)/);
  });

  it('a state directory every user can enter is told at start (red team round 27)', (t) => {
    // Made before the platform (mkdir with umask 022): its files are 0644, every tenant's code and runs.
    const dir = stateDir(t);
    chmodSync(dir, 0o755);
    const warnings = stateDirWarnings(dir);
    assert.equal(warnings.length, 1);
    assert.match(warnings[0]!, /can be entered by every user \(mode 755\): any local user can read every workspace's code/);
    chmodSync(dir, 0o750);
    assert.deepEqual(stateDirWarnings(dir), []);
  });

  it('does not remove a lock it no longer owns', (t) => {
    const dir = stateDir(t);
    const lock = lockStateDir(dir);
    writeFileSync(join(dir, LOCK_FILE), `999999 1\n`);
    lock.release();
    assert.equal(readFileSync(join(dir, LOCK_FILE), 'utf8'), '999999 1\n');
  });
});
