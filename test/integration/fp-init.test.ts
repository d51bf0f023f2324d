/**
 * The native init of forked boxes (runtime/fp_sandbox/init.c, docs/adr/0026-native-init.md),
 * driven outside any box by fp-init-driver.py exactly as the Python init hands over to it
 * (forked.exec_init): the report channel's frames (pid first, output, the runtime's own exit
 * code or signal), the cgroup moves before the runtime is told, a failed move killing the
 * runtime, orphans reaped, no capabilities left, no descriptor it was not given. In a real box
 * (root mode) zygotes.test.ts checks that the box's pid 1 is this program.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import { describe, it } from 'node:test';
import { statIdentity } from '../../poolmgr/host/host-pids.js';
import { FrameDecoder } from '../../protocol/frames.js';
import { removeFunction, repoPath, writeFunction } from '../helpers/runtime-process.js';

const NATIVE_INIT = repoPath('runtime', 'fp_sandbox', 'fp-init');
const SKIP = existsSync(NATIVE_INIT) ? false : `${NATIVE_INIT} is not built (scripts/build-init.sh: no C compiler here)`;

type Frame = { t: 'pid'; stat: Uint8Array } | { t: 'out'; s: number; b: Uint8Array } | { t: 'exit'; code: number | null; signal: string | null };

interface Run {
  pid: number;
  frames: Frame[];
  stdout: string;
  stderr: string;
  procs: string;
  driverExit: number | null;
}

async function drive(scenario: string): Promise<Run> {
  const dir = await writeFunction({ procs: '' });
  try {
    const procsFile = join(dir, 'procs');
    writeFileSync(procsFile, '');
    const child = spawn(repoPath('.venv', 'bin', 'python'), [repoPath('test', 'integration', 'fp-init-driver.py'), repoPath('runtime'), scenario, procsFile],
      { stdio: ['ignore', 'pipe', 'pipe', 'pipe'] });
    const decoder = new FrameDecoder();
    const frames: Frame[] = [];
    let stdout = '';
    let stderr = '';
    child.stdout!.on('data', (d: Buffer) => { stdout += d.toString(); });
    child.stderr!.on('data', (d: Buffer) => { stderr += d.toString(); });
    const report = child.stdio[3] as Readable;
    report.on('data', (chunk: Buffer) => { frames.push(...decoder.push(chunk) as Frame[]); });
    const closed = new Promise<void>((resolve) => report.on('close', () => resolve()));
    const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
    const timer = setTimeout(() => child.kill('SIGKILL'), 20_000);
    const driverExit = await exited;
    await closed;
    clearTimeout(timer);
    return { pid: child.pid!, frames, stdout, stderr, procs: readFileSync(procsFile, 'utf8'), driverExit };
  } finally {
    await removeFunction(dir);
  }
}

function output(run: Run, stream: number): string {
  return run.frames.filter((f): f is Extract<Frame, { t: 'out' }> => f.t === 'out' && f.s === stream).map((f) => Buffer.from(f.b).toString()).join('');
}

/** The pid a report's first frame names (its reporter's own /proc/self/stat line, ADR 0243). */
function pidOf(frame: Frame | undefined): number | undefined {
  return frame?.t === 'pid' ? statIdentity(Buffer.from(frame.stat).toString('latin1'))?.pid : undefined;
}

function lastFrame(run: Run): Frame | undefined {
  return run.frames[run.frames.length - 1];
}

describe('the native init (fp-init)', { skip: SKIP }, () => {
  it('reports its pid first, then the box\'s output, then the runtime\'s exit code; joins the cgroups before telling the runtime', async () => {
    const run = await drive('exit');
    const what = JSON.stringify({ ...run, frames: run.frames.map((f) => f.t === 'out' ? { ...f, b: Buffer.from(f.b).toString() } : f) });
    assert.equal(run.driverExit, 0, what);
    assert.deepEqual(pidOf(run.frames[0]), run.pid, what);
    assert.equal(output(run, 1), 'joined=1\n', what);
    assert.equal(output(run, 2), 'to stderr\n', what);
    assert.deepEqual(lastFrame(run), { t: 'exit', code: 7, signal: null }, what);
    assert.equal(run.frames.filter((f) => f.t === 'exit').length, 1);
    // Init (the driver's pid, exec'd) then the runtime, each written to the cgroup.procs descriptor.
    assert.match(run.procs, new RegExp(`^${run.pid}\\d+$`), what);
  });

  it('reports the signal that ended the runtime by name', async () => {
    const run = await drive('signal');
    assert.deepEqual(lastFrame(run), { t: 'exit', code: null, signal: 'SIGTERM' }, JSON.stringify(run.frames));
  });

  it('reaps what the box orphans', async () => {
    const run = await drive('orphans');
    assert.equal(output(run, 1), 'joined=1\nzombies=0\n', run.stderr);
    assert.deepEqual(lastFrame(run), { t: 'exit', code: 0, signal: null });
  });

  it('holds no capabilities and no descriptor it was not given by the time the runtime is told', async () => {
    const run = await drive('caps');
    assert.equal(output(run, 1), `joined=1\ncaps=${['0000000000000000', '0000000000000000', '0000000000000000', '0000000000000000'].join(',')}\nstray=False\n`, output(run, 2));
  });

  it('ends the box when the host\'s end of the report channel closes (the platform died): the runtime is killed, init exits', async () => {
    const dir = await writeFunction({ procs: '' });
    try {
      const procsFile = join(dir, 'procs');
      writeFileSync(procsFile, '');
      const child = spawn(repoPath('.venv', 'bin', 'python'), [repoPath('test', 'integration', 'fp-init-driver.py'), repoPath('runtime'), 'host-gone', procsFile],
        { stdio: ['ignore', 'pipe', 'pipe', 'pipe'] });
      const decoder = new FrameDecoder();
      const frames: Frame[] = [];
      const report = child.stdio[3] as Readable;
      const joined = new Promise<void>((resolve) => report.on('data', (chunk: Buffer) => {
        frames.push(...decoder.push(chunk) as Frame[]);
        if (frames.some((f) => f.t === 'out' && Buffer.from(f.b).toString().includes('joined=1'))) resolve();
      }));
      const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
      const timer = setTimeout(() => child.kill('SIGKILL'), 20_000);
      await joined;
      const runtimePid = Number(readFileSync(procsFile, 'utf8').slice(String(child.pid).length));
      report.destroy(); // the host is gone
      const code = await exited;
      clearTimeout(timer);
      assert.equal(code, 1, 'init exited on its own (the runtime sleeps 30 s)');
      assert.ok(Number.isInteger(runtimePid) && runtimePid > 0, readFileSync(procsFile, 'utf8'));
      for (let i = 0; existsSync(`/proc/${runtimePid}/stat`) && !readFileSync(`/proc/${runtimePid}/stat`, 'utf8').includes(') Z'); i++) {
        assert.ok(i < 100, `the runtime ${runtimePid} is still alive`);
        await new Promise((r) => setTimeout(r, 20));
      }
    } finally {
      await removeFunction(dir);
    }
  });

  it('kills the runtime when a cgroup move fails, and says why', async () => {
    const run = await drive('cgroup-fail');
    assert.equal(pidOf(run.frames[0]), run.pid);
    assert.match(output(run, 2), /the box's init could not join its cgroups: \[Errno 9\]/);
    assert.doesNotMatch(output(run, 1), /joined=1/, 'the runtime was never told');
    assert.deepEqual(lastFrame(run), { t: 'exit', code: null, signal: 'SIGKILL' });
  });
});
