/**
 * How the host finds a template's forked child from the pid it reports inside its box
 * (poolmgr/host/templates.ts `findForkedChild`), on a real nested PID namespace: only a direct child
 * of the box's pid 2 (the template) can be named; not init, not the template, not a grandchild,
 * not a process outside the box. Its start time is read by the host (the child is the function's
 * code: ADR 0243's reported stat line is a zygote reporter's only), in the one line that says it is
 * still the template's child (host-pids.ts `startedAsChildOf`; loose ends round 8).
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { startedAsChildOf, startedAt, statOf } from '../../poolmgr/host/host-pids.js';
import { findForkedChild } from '../../poolmgr/host/templates.js';
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
    const template = byInner.get(2)!;
    assert.deepEqual(findForkedChild(box.pid!, 3), { pid: byInner.get(3), template });
    assert.deepEqual(findForkedChild(box.pid!, 4), { pid: byInner.get(4), template });
    assert.equal(findForkedChild(box.pid!, 5), null, 'a grandchild of the template');
    assert.equal(findForkedChild(box.pid!, 2), null, 'the template itself');
    assert.equal(findForkedChild(box.pid!, 1), null, 'the box\'s init');
    assert.equal(findForkedChild(box.pid!, process.pid), null, 'a process outside the box');

    // The child's start time, read with its parent in one line: the template's child has it.
    const child = byInner.get(3)!;
    assert.equal(startedAsChildOf(child, template), startedAt(child));
    assert.notEqual(startedAt(child), null);
    // A pid that names a process other than the template's child gets none: between the walk and
    // the read the child may exit, be reaped by the template (the function's code) and its pid be
    // taken; `startedAt` alone gave the newcomer's start time, and the host would signal it as the
    // instance. A process outside the box stands for the newcomer (its pid, its stat line), and one
    // in the box under another parent (the grandchild) for a pid taken inside it.
    const outsider = spawn('sleep', ['30'], { stdio: 'ignore' });
    t.after(() => outsider.kill('SIGKILL'));
    await until(() => statOf(outsider.pid!) !== null, 5000, 'the outsider');
    assert.notEqual(startedAt(outsider.pid!), null);
    assert.equal(startedAsChildOf(outsider.pid!, template), null, 'a process outside the box');
    assert.equal(startedAsChildOf(byInner.get(5)!, template), null, 'a process of the box under another parent');
    // The walk's pid, its line read after the pid was taken (the newcomer's line under that pid).
    const newcomer = statOf(outsider.pid!)!.replace(/^\d+ /, `${child} `);
    assert.equal(startedAsChildOf(child, template, () => newcomer), null, 'the pid taken by another process');
    // Gone: none.
    const gone = byInner.get(4)!;
    // The parent first: killed second, it may already have ended on its own (its `wait` returned).
    process.kill(gone, 'SIGKILL');
    process.kill(byInner.get(5)!, 'SIGKILL');
    await until(() => statOf(gone) === null, 5000, 'the child reaped');
    assert.equal(startedAsChildOf(gone, template), null);
  });
});
