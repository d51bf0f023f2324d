/**
 * A platform's start arms every function's cron triggers (controlplane.ts: refreshAll sets them,
 * then startDispatcher starts the scheduler), and arming asks each trigger's next tick. Near a clock
 * change that is the cron library's walk (5-40 ms, ADR 0104), and a tenant's schedules can all put
 * their next tick there (`M 2 28 3 *` in Europe/Berlin the day before its clocks go forward): the
 * start armed them all in one turn of the event loop, 120 of them 1.2-3 s, every tenant's calls held
 * as long at each start, and other tenants' ticks due meanwhile late (red team round 37). The start
 * lets other work run after each tick that took long to find, as a deploy's arming does.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { CronScheduler, MemoryTickLock } from '../../controlplane/async/index.js';

describe('cron scheduler: the start arms its triggers', () => {
  it('lets the event loop turn after each trigger whose tick was slow to find', async () => {
    // The day before Berlin's clocks go forward, the clock running from there; each slow trigger's
    // only tick is in the skipped hour, a day away.
    const base = Date.UTC(2027, 2, 27, 12, 0, 0);
    const t0 = Date.now();
    const salt = Math.floor(Date.now() / 1000) % 60; // schedules this process has not seen (the memo)
    const fired: string[] = [];
    const s = new CronScheduler({ lock: new MemoryTickLock(), fire: (t) => void fired.push(t.triggerId), now: () => base + Date.now() - t0 });
    const zones = ['Europe/Berlin', 'Europe/Paris']; // the same change: its skipped hour 02:00-03:00
    for (let i = 0; i < 120; i++) s.set({ function: 'fn', triggerId: `t${i}`, expression: `${(salt + i) % 60} 2 28 3 *`, timezone: zones[Math.floor(i / 60)]! });
    // Set last, armed after every slow one: it fires once the arming is through.
    s.set({ function: 'fn', triggerId: 'every-second', expression: '* * * * * *' });
    const started = performance.now();
    s.start();
    const inStart = performance.now() - started;
    for (let i = 0; i < 150 && !fired.includes('every-second'); i++) await new Promise((resolve) => setTimeout(resolve, 100));
    await s.stop();
    // Before: all 120 walks in start() itself, 1.2-3 s; now the first slow one, then a turn each.
    assert.ok(inStart < 600, `start() held the event loop ${inStart.toFixed(0)} ms`);
    assert.ok(fired.includes('every-second'), 'the trigger set last was never armed');
    assert.ok(fired.every((id) => id === 'every-second'), fired.join(' '));
  });
});
