/**
 * A deploy's cron triggers are armed one a turn of the event loop (controlplane/async/triggers/
 * cron-triggers.ts): arming asks the cron library for each new schedule's next tick (~15 ms, a 29
 * February one years of luxon steps), and 32 of them at once held every tenant's calls 0.5-1 s
 * (loose ends 1; /work/probe-loose1/cron-cost.mjs).
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { CronTriggers } from '../../controlplane/async/index.js';
import type { Store } from '../../controlplane/store/index.js';

describe('cron triggers: arming a deploy\'s triggers', () => {
  it('lets the event loop turn between triggers; none is refused', async () => {
    const salt = Date.now() % 13; // schedules this process has not seen
    const triggers = Array.from({ length: 32 }, (_, i) => ({ type: 'cron', id: `t${i}`, schedule: `${(i + salt) % 60} ${i % 24} ${1 + (i % 28)} * *` }));
    const store = {
      functions: { get: async () => ({ status: 'active', activeVersion: 1 }), list: async () => [] },
      versions: { get: async () => ({ manifest: { triggers } }) },
    } as unknown as Store;
    const lines: string[] = [];
    const cron = new CronTriggers(store, { acquire: async () => false, close: async () => {} }, async () => {}, (l) => lines.push(l));
    cron.start();
    let turns = 0;
    let done = false;
    const spin = (): void => {
      if (done) return;
      turns += 1;
      setImmediate(spin);
    };
    setImmediate(spin);
    try {
      await cron.refresh('fn');
    } finally {
      done = true;
    }
    await cron.stop();
    assert.deepEqual(lines, []);
    // Other work ran between the triggers (before: a few turns, the store's awaits; all 32 armed in one).
    assert.ok(turns >= 32, `${turns} turns of the loop while 32 triggers were armed`);
  });
});
