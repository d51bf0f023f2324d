/** The start budget after crashes, on a clock of its own (poolmgr/crash-budget.ts, ADR 0158). */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { CrashBudgets, FORGET_AFTER_MS, WORKSPACE_FACTOR } from '../../poolmgr/crash-budget.js';
import type { InvocationError } from '../../poolmgr/types.js';

const CRASH: InvocationError = { code: 'RUNTIME_CRASHED', class: 'crash', type: 'RuntimeExited', message: 'exit 3' };

function budgets(burst: number, perMinute: number): { b: CrashBudgets; clock: { t: number } } {
  const clock = { t: 1_000 };
  return { b: new CrashBudgets({ burst, perMinute }, () => clock.t), clock };
}

describe('crash budgets', () => {
  it('changes nothing for a version that never ended', () => {
    const { b } = budgets(3, 60);
    assert.equal(b.watched('f@v1'), false);
    assert.equal(b.hold('f@v1', 'f', 'w', 50), null);
  });

  it('holds a version once its burst is spent, for the time its rate gives back one start', () => {
    const { b, clock } = budgets(3, 60);
    for (let i = 0; i < 2; i++) b.crashed('f@v1', 'f', 'w', CRASH);
    assert.equal(b.hold('f@v1', 'f', 'w'), null, 'within the budget');
    b.crashed('f@v1', 'f', 'w', CRASH);
    const hold = b.hold('f@v1', 'f', 'w');
    assert.ok(hold !== null);
    assert.equal(hold.budget, 'function');
    assert.equal(hold.crashes, 3);
    assert.equal(hold.last?.code, 'RUNTIME_CRASHED');
    assert.equal(Math.round(hold.waitMs), 1_000);
    clock.t += 1_000;
    assert.equal(b.hold('f@v1', 'f', 'w'), null, 'one start back after a second at 60 a minute');
  });

  it('reserves the starts in flight once the budget ran dry, not before', () => {
    const { b, clock } = budgets(3, 60);
    b.crashed('f@v1', 'f', 'w', CRASH);
    assert.equal(b.hold('f@v1', 'f', 'w', 5), null, 'within the budget, starts in flight do not count');
    assert.equal(b.spent('f@v1'), false, 'within the budget: it takes generic runtimes as before');
    b.crashed('f@v1', 'f', 'w', CRASH);
    b.crashed('f@v1', 'f', 'w', CRASH);
    assert.equal(b.spent('f@v1'), true);
    clock.t += 2_000; // two starts back
    assert.equal(b.hold('f@v1', 'f', 'w', 1), null);
    assert.notEqual(b.hold('f@v1', 'f', 'w', 2), null, 'two starting already: a third waits');
  });

  it('holds every version of a workspace that crashed lately once the workspace\'s budget is spent', () => {
    const { b } = budgets(2, 60);
    const versions = WORKSPACE_FACTOR * 2;
    for (let i = 0; i < versions; i++) b.crashed(`f${i}@v1`, `f${i}`, 'w', CRASH);
    const hold = b.hold('f0@v1', 'f0', 'w');
    assert.equal(hold?.budget, 'workspace');
    assert.equal(b.hold('healthy@v1', 'healthy', 'w'), null, 'a version that never ended is not held');
    assert.equal(b.hold('f0@v1', 'f0', 'other'), null, 'another workspace is not held');
  });

  it('holds a new version (a deploy) of a function that crashed lately while its workspace\'s budget is spent, not before', () => {
    const { b, clock } = budgets(2, 60);
    b.crashed('f@v1', 'f', 'w', CRASH);
    assert.equal(b.hold('f@v2', 'f', 'w', 9), null, 'a deploy starts with a full budget');
    for (let i = 0; i < WORKSPACE_FACTOR * 2; i++) b.crashed(`g${i}@v1`, `g${i}`, 'w', CRASH);
    assert.equal(b.hold('f@v2', 'f', 'w')?.budget, 'workspace', 'deploys buy no starts past the workspace\'s budget');
    assert.equal(b.hold('h@v1', 'h', 'w'), null, 'a function that never ended is not held');
    clock.t += FORGET_AFTER_MS;
    b.prune();
    assert.equal(b.nameWatched('f'), false);
  });

  it('goes below zero by the ends it did not hold back, and the wait pays for them', () => {
    const { b } = budgets(1, 60);
    for (let i = 0; i < 5; i++) b.crashed('f@v1', 'f', 'w', CRASH);
    assert.equal(Math.round(b.hold('f@v1', 'f', 'w')?.waitMs ?? 0), 5_000);
  });

  it('forgets a budget full again once its last end is old, and watches it until then', () => {
    const { b, clock } = budgets(1, 60);
    b.crashed('f@v1', 'f', 'w', CRASH);
    clock.t += 2_000;
    b.prune();
    assert.equal(b.watched('f@v1'), true, 'full, but its end is recent');
    clock.t += FORGET_AFTER_MS;
    b.prune();
    assert.equal(b.watched('f@v1'), false);
  });

  it('is off with a burst of 0', () => {
    const { b } = budgets(0, 60);
    for (let i = 0; i < 10; i++) b.crashed('f@v1', 'f', 'w', CRASH);
    assert.equal(b.watched('f@v1'), false);
    assert.equal(b.hold('f@v1', 'f', 'w'), null);
  });
});
