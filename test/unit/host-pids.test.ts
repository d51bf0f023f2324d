/**
 * Whether a process has ended or begun to (poolmgr/host/host-pids.ts `running`): a zygote's forks
 * that end with it must not count as failures of a live zygote, and a killed process closes its
 * sockets before it turns zombie, while /proc still says `R`; its PF_EXITING flag is set first.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { reportedIdentity, running, startedAsChildOf, startedAt, statIdentity, statSaysEnding } from '../../poolmgr/host/host-pids.js';

/** A stat line as the kernel writes it, with a command name that holds `) (` and spaces. */
const line = (state: string, flags: number): string =>
  `4242 (a) (b c) ${state} 1 4242 4242 0 -1 ${flags} 120 0 0 0 3 1 0 0 20 0 1 0 8127 4206592 231 18446744073709551615 1 1 0 0 0 0 0 0 0 0 0 0 17 1 0 0 0 0 0`;

describe('running / statSaysEnding', () => {
  it('reads the state after the last parenthesis and the flags word (field 9)', () => {
    assert.equal(statSaysEnding(line('S', 0x400100)), false, 'sleeping');
    assert.equal(statSaysEnding(line('R', 0x400000)), false, 'running');
    assert.equal(statSaysEnding(line('R', 0x400104)), true, 'R but PF_EXITING: its files are being closed');
    assert.equal(statSaysEnding(line('Z', 0x400000)), true, 'zombie');
    assert.equal(statSaysEnding(line('X', 0)), true, 'dead');
    // This process's own line: alive, and the field read as flags is its flags word.
    assert.equal(statSaysEnding(readFileSync('/proc/self/stat', 'latin1')), false);
  });

  it('a live child is running; once it has exited it is not; a pid nothing has is not', async () => {
    const child = spawn('sleep', ['30'], { stdio: 'ignore' });
    await once(child, 'spawn');
    assert.equal(running(child.pid!), true);
    child.kill('SIGKILL');
    await once(child, 'exit');
    assert.equal(running(child.pid!), false);
    assert.equal(running(2 ** 22 + 7), false);
  });
});

describe('statIdentity (a forked box\'s reporter sends its own stat line, ADR 0243)', () => {
  it('takes the pid (field 1) and start time (field 22) after the last parenthesis, as startedAt reads them', () => {
    const own = readFileSync('/proc/self/stat', 'latin1');
    assert.deepEqual(statIdentity(own), { pid: process.pid, start: startedAt(process.pid) });
    const fields = '1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17 18';
    assert.deepEqual(statIdentity(`12 (a) b) S ${fields} 999 20\n`), { pid: 12, start: '999' });
    assert.deepEqual(statIdentity(`5 (x) S ${fields} 777\n`), { pid: 5, start: '777' });
  });

  it('is null for what is no stat line: short, no pid, a start time that is no number', () => {
    for (const bad of ['', 'junk', '12 (x) S 1', `x (y) S ${'1 '.repeat(18)}9`, `0 (y) S ${'1 '.repeat(18)}9`, `3 (y) S ${'1 '.repeat(18)}9e3`]) {
      assert.equal(statIdentity(bad), null, bad);
    }
  });
});

describe('reportedIdentity (whom a forked box\'s pid frame names, ADR 0243)', () => {
  const line = (pid: number, start: string): string => `${pid} (python3) S ${'1 '.repeat(18)}${start} 20\n`;
  const never = (): string | null => { throw new Error('no /proc read when the line names the reporter'); };

  it("takes the stat line's pid and start time, reading nothing, when no pid or the same pid is given", () => {
    assert.deepEqual(reportedIdentity(line(4242, '777'), undefined, never), { pid: 4242, start: '777' });
    assert.deepEqual(reportedIdentity(line(4242, '777'), 4242, never), { pid: 4242, start: '777' });
  });

  it("goes by the reporter's getpid() where the line names another pid (a /proc of another PID namespace), its start time read", () => {
    const read: number[] = [];
    assert.deepEqual(reportedIdentity(line(90001, '777'), 17, (pid) => { read.push(pid); return '555'; }), { pid: 17, start: '555' });
    assert.deepEqual(read, [17]);
  });

  it('ignores a given pid that is no pid, and is null without a stat line', () => {
    for (const given of [0, -3, 1.5, '17', null]) assert.deepEqual(reportedIdentity(line(4242, '777'), given, never), { pid: 4242, start: '777' });
    assert.equal(reportedIdentity('junk', 17, never), null);
  });
});

describe('startedAsChildOf (a template\'s forked child: its start time bound to its parent, loose ends round 8)', () => {
  // Field 4 (ppid) after the last parenthesis: a command name may hold ") 7 " to pass for another parent.
  const line = (pid: number, comm: string, ppid: number, start: string): string => `${pid} (${comm}) S ${ppid} ${'1 '.repeat(17)}${start} 20\n`;

  it('is the start time when the line names that pid under that parent; null under another, for another pid, or none', () => {
    assert.equal(startedAsChildOf(40, 7, () => line(40, 'python3', 7, '555')), '555');
    assert.equal(startedAsChildOf(40, 7, () => line(40, 'python3', 1, '555')), null, 'reparented, or its pid taken');
    assert.equal(startedAsChildOf(40, 7, () => line(40, 'x) S 7 ', 9, '555')), null, 'a command name that says 7');
    assert.equal(startedAsChildOf(40, 7, () => line(41, 'python3', 7, '555')), null, 'another pid');
    assert.equal(startedAsChildOf(40, 7, () => null), null, 'gone');
    assert.equal(startedAsChildOf(process.pid, process.ppid), startedAt(process.pid), 'this process, read from /proc');
  });
});
