/**
 * The tick lock's lasting note conformance suite (ADR 0238): every TickLock that keeps notes (in
 * memory, SQLite `cron-ticks.db`, Redis) must move a trigger's last tick up with each won claim
 * (never down, never on a lost claim), count missed ticks until a fired one, and record an
 * outage's summary once when two processes (two locks on one store) record it at the same time.
 *
 *   tickNoteConformance('sqlite', async () => [openSqliteTickLock({ stateDir }), openSqliteTickLock({ stateDir })]);
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { describe, it } from 'node:test';
import type { TickLock } from '../../controlplane/async/index.js';

/** Two locks on one store (two processes of one platform); the suite closes them. */
export type TickLockPair = () => Promise<[TickLock, TickLock]>;

const refOf = (): { function: string; triggerId: string } => ({ function: `f${randomBytes(3).toString('hex')}`, triggerId: 'cron1' });

export function tickNoteConformance(name: string, open: TickLockPair): void {
  /** Runs `step` on a fresh pair and trigger, then closes both locks. */
  const withPair = (step: (a: TickLock, b: TickLock, ref: ReturnType<typeof refOf>) => Promise<void>) => async (): Promise<void> => {
    const [a, b] = await open();
    try {
      await step(a, b, refOf());
    } finally {
      await a.close();
      await b.close();
    }
  };
  describe(`tick lock note conformance: ${name}`, () => {
    it('keeps the last claimed tick, only from won claims, never moving back', withPair(async (a, b, ref) => {
      assert.equal(await a.note!(ref), null, 'no note before a claim');
      assert.equal(await a.acquire(ref, 2000), true);
      assert.equal(await b.acquire(ref, 2000), false);
      assert.equal(await b.acquire(ref, 1000), true, 'an older tick, claimed late');
      assert.deepEqual(await b.note!(ref), { lastTickMs: 2000, lastMissedMs: null, missedSinceFired: 0 });
      assert.equal(await a.note!({ ...ref, triggerId: 'other' }), null, 'one note a trigger');
    }));

    it('counts missed ticks until one fires, keeping the last missed one', withPair(async (a, b, ref) => {
      await a.acquire(ref, 1000);
      assert.equal(await a.noteMissed!(ref, 1000, 1), true);
      assert.equal(await b.noteMissed!(ref, 5000, 3, 1000), true, 'an outage after the last claim');
      assert.deepEqual(await a.note!(ref), { lastTickMs: 5000, lastMissedMs: 5000, missedSinceFired: 4 });
      await b.acquire(ref, 6000);
      await b.noteFired!(ref, 6000);
      assert.deepEqual(await a.note!(ref), { lastTickMs: 6000, lastMissedMs: 5000, missedSinceFired: 0 }, 'a fired tick starts the count again');
    }));

    it('records an outage once when two processes record it at once, and none the note moved past', withPair(async (a, b, ref) => {
      await a.acquire(ref, 1000);
      const won = await Promise.all([a.noteMissed!(ref, 9000, 8, 1000), b.noteMissed!(ref, 9000, 8, 1000)]);
      assert.deepEqual(won.sort(), [false, true], 'one of the two records it');
      assert.equal(await a.noteMissed!(ref, 9000, 8, 1000), false, 'the note moved past its start');
      assert.deepEqual(await b.note!(ref), { lastTickMs: 9000, lastMissedMs: 9000, missedSinceFired: 8 });
    }));

    it('a trigger armed on a running scheduler moves its note up, never down, and makes none (loose ends round 14)', withPair(async (a, b, ref) => {
      await a.noteArmed!(ref, 5000);
      assert.equal(await b.note!(ref), null, 'no note from an arming alone');
      await a.acquire(ref, 1000);
      await b.noteArmed!(ref, 5000);
      await a.noteArmed!(ref, 3000);
      assert.deepEqual(await b.note!(ref), { lastTickMs: 5000, lastMissedMs: null, missedSinceFired: 0 });
    }));

    it('a deleted function\'s notes and claims go; another function\'s stay (loose ends round 14)', withPair(async (a, b, ref) => {
      // Redis: the function's keys go at its delete (functionPattern), not through the lock.
      if (a.forgetFunction === undefined) return;
      const other = { function: `${ref.function}x`, triggerId: ref.triggerId };
      await a.acquire(ref, 1000);
      await a.noteMissed!(ref, 1000, 2);
      await a.acquire({ ...ref, triggerId: 'second' }, 1000);
      await b.acquire(other, 1000);
      await b.forgetFunction!(ref.function);
      assert.equal(await a.note!(ref), null);
      assert.equal(await a.note!({ ...ref, triggerId: 'second' }), null);
      assert.deepEqual(await a.unsettled!(ref, [1000]), [], 'its claim stayed');
      assert.equal(await a.acquire(ref, 1000), true, 'a function created again with the name claims its ticks afresh');
      assert.deepEqual(await a.note!(ref), { lastTickMs: 1000, lastMissedMs: null, missedSinceFired: 0 });
      assert.notEqual(await a.note!(other), null, 'another function\'s note went');
    }));
  });
}
