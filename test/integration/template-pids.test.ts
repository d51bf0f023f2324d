/**
 * How the host finds a template's forked child from the pid it reports inside its box
 * (poolmgr/host/templates.ts `findHostPid`), on a real nested PID namespace: only a direct child
 * of the box's pid 2 (the template) can be named; not init, not the template, not a grandchild,
 * not a process outside the box.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { findHostPid } from '../../poolmgr/host/templates.js';
import { until } from './poolmgr-harness.js';

const isRoot = process.geteuid?.() === 0;

/** The innermost pid of a host pid (its pid in the box). */
function inner(pid: number): number {
  const line = readFileSync(`/proc/${pid}/status`, 'utf8').split('\n').find((l) => l.startsWith('NSpid:'))!;
  return Number(line.trim().split(/\s+/).pop());
}

describe('finding a forked child\'s host pid', { skip: isRoot ? false : 'needs root (a PID namespace)' }, () => {
  it('names only a direct child of the box\'s pid 2', async (t) => {
    // Box: pid 1 (sh) → pid 2 (sh, "the template") → two children; one of them has a child of its own.
    const box = spawn('unshare', ['--pid', '--fork', 'sh', '-c', 'sh -c "sleep 30 & sh -c \'sleep 30 & wait\' & wait" & wait'], { stdio: 'ignore' });
    t.after(() => box.kill('SIGKILL'));
    const all = (): number[] => {
      const out: number[] = [];
      const walk = (pid: number): void => {
        for (const task of readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').trim().split(/\s+/).filter(Boolean).map(Number)) {
          out.push(task);
          walk(task);
        }
      };
      walk(box.pid!);
      return out;
    };
    await until(() => all().length >= 5, 5000, 'the box\'s processes');
    const byInner = new Map(all().map((pid) => [inner(pid), pid]));
    assert.deepEqual([...byInner.keys()].sort(), [1, 2, 3, 4, 5]);
    // pid 2's direct children are 3 and 4 (in order of start); 5 is 4's child.
    assert.equal(findHostPid(box.pid!, 3), byInner.get(3));
    assert.equal(findHostPid(box.pid!, 4), byInner.get(4));
    assert.equal(findHostPid(box.pid!, 5), 0, 'a grandchild of the template');
    assert.equal(findHostPid(box.pid!, 2), 0, 'the template itself');
    assert.equal(findHostPid(box.pid!, 1), 0, 'the box\'s init');
    assert.equal(findHostPid(box.pid!, process.pid), 0, 'a process outside the box');
  });
});
