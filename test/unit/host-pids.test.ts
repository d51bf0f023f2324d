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
import { running, statSaysEnding } from '../../poolmgr/host/host-pids.js';

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
