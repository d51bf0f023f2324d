/**
 * Cron triggers in embedded mode: two schedulers, each with its own connection to one
 * cron-ticks.db, fire each per-second tick exactly once, through the async path into a real
 * SQLite queue (one run per tick, with the tick's idempotency key).
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { MemoryRunTimeline } from '../../controlplane/async/index.js';
import { openSqliteQueue } from '../../controlplane/async/index.js';
import { cronIdempotencyKey, CronScheduler, enqueueTicks, MemoryTickLock, openSqliteTickLock } from '../../controlplane/async/index.js';
import { tickNoteConformance } from '../conformance/tick-note-suite.js';

tickNoteConformance('sqlite', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'fp-ticks-'));
  after(() => rmSync(dir, { recursive: true, force: true }));
  return [openSqliteTickLock({ stateDir: dir }), openSqliteTickLock({ stateDir: dir })];
});
tickNoteConformance('memory (one lock, two callers)', async () => {
  const lock = new MemoryTickLock();
  return [lock, lock];
});

describe('sqlite tick lock', () => {
  it('claims a tick once across connections', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'fp-ticks-'));
    after(() => rmSync(dir, { recursive: true, force: true }));
    const [a, b] = [openSqliteTickLock({ stateDir: dir }), openSqliteTickLock({ stateDir: dir })];
    const ref = { function: 'f', triggerId: 't' };
    assert.equal(await a.acquire(ref, 1000), true);
    assert.equal(await b.acquire(ref, 1000), false);
    assert.equal(await b.acquire(ref, 2000), true);
    assert.equal(await a.acquire({ ...ref, triggerId: 'u' }, 1000), true);
    await a.close();
    await assert.rejects(a.acquire(ref, 3000), { code: 'TRIGGER_UNAVAILABLE' });
    await b.close();
  });

  it('fires each per-second tick once across two schedulers, one queued run per tick', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'fp-ticks-'));
    after(() => rmSync(dir, { recursive: true, force: true }));
    const queue = await openSqliteQueue({ stateDir: dir });
    const timeline = new MemoryRunTimeline();
    const locks = [openSqliteTickLock({ stateDir: dir }), openSqliteTickLock({ stateDir: dir })];
    const ticks: number[] = [];
    const errors: unknown[] = [];
    const enqueue = enqueueTicks(queue, timeline, () => randomUUID());
    const schedulers = locks.map((lock) => new CronScheduler({
      lock,
      fire: async (trigger, tick) => {
        ticks.push(tick);
        await enqueue(trigger, tick);
      },
      onError: (e) => errors.push(e),
    }));
    for (const s of schedulers) {
      s.set({ function: 'beat', triggerId: 'sec', expression: '* * * * * *', payload: Buffer.from([0, 255]) });
      s.start();
    }
    // Three per-second ticks, waited for as they come (a budget of 15 s for a loaded machine).
    for (const deadline = Date.now() + 15_000; ticks.length < 3 && Date.now() < deadline;) await new Promise((r) => setTimeout(r, 50));
    await Promise.all(schedulers.map((s) => s.stop()));
    try {
      assert.deepEqual(errors, []);
      assert.ok(ticks.length >= 3, `only ${ticks.length} ticks`);
      assert.equal(new Set(ticks).size, ticks.length, 'a tick fired twice');
      const jobs = await queue.list(100);
      assert.equal(jobs.length, ticks.length);
      assert.deepEqual(jobs.map((j) => j.idempotencyKey).sort(), ticks.map((t) => cronIdempotencyKey({ function: 'beat', triggerId: 'sec' }, t)).sort());
      const first = await queue.peek(jobs[0]!.runId);
      assert.deepEqual([...first!.payload], [0, 255]);
      assert.equal((await timeline.get(jobs[0]!.runId))?.state, 'queued');
    } finally {
      await Promise.all(locks.map((l) => l.close()));
      await queue.close();
    }
  });
});
