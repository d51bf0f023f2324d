import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { evictionPlan } from '../../controlplane/store/eviction.js';

const sum = (plan: Map<string, number>): number => [...plan.values()].reduce((a, b) => a + b, 0);

describe('evictionPlan (who loses runs past the size cap)', () => {
  it('takes from the function holding the most bytes, not from the others', () => {
    const plan = evictionPlan([
      { function: 'flooder', runs: 40, bytes: 40 * 200_000 },
      { function: 'keeper', runs: 3, bytes: 3 * 1024 },
      { function: 'other.acme', runs: 100, bytes: 100 * 1024 },
    ], 20);
    assert.deepEqual([...plan], [['flooder', 20]]);
  });

  it('takes from the workspace holding the most bytes first: a flood spread over many functions does not push out another tenant\'s busiest one', () => {
    const flood = Array.from({ length: 100 }, (_, i) => ({ function: `f${i}.attacker`, runs: 10, bytes: 10 * 2048 }));
    const plan = evictionPlan([...flood, { function: 'busy.victim', runs: 200, bytes: 200 * 2048 }], 300);
    assert.equal(sum(plan), 300);
    assert.equal(plan.get('busy.victim'), undefined, 'the victim\'s one function is heavier than any of the flood\'s, but its workspace is lighter');
    assert.ok([...plan.keys()].every((key) => key.endsWith('.attacker')));
  });

  it('evens out: once the heaviest is down to the next, both lose runs, by their sizes', () => {
    const plan = evictionPlan([{ function: 'a', runs: 100, bytes: 100_000 }, { function: 'b', runs: 50, bytes: 50_000 }], 100);
    assert.equal(sum(plan), 100);
    // a loses its 50 extra runs first, then a and b lose the same.
    assert.deepEqual([plan.get('a'), plan.get('b')], [75, 25]);
  });

  it('shares a tie evenly and counts exactly, whatever the rounding', () => {
    const weights = Array.from({ length: 7 }, (_, i) => ({ function: `f${i}`, runs: 13, bytes: 13 * 3000 }));
    for (const count of [1, 6, 7, 8, 50, 91]) {
      const plan = evictionPlan(weights, count);
      assert.equal(sum(plan), count, `count ${count}`);
      const taken = [...plan.values()];
      assert.ok(Math.max(...taken) - Math.min(...(taken.length === 7 ? taken : [...taken, 0])) <= 1, `count ${count}: ${JSON.stringify([...plan])}`);
    }
  });

  it('never plans more than there is, nor anything for nothing', () => {
    assert.deepEqual([...evictionPlan([{ function: 'a', runs: 3, bytes: 10 }], 10)], [['a', 3]]);
    assert.equal(evictionPlan([{ function: 'a', runs: 3, bytes: 10 }], 0).size, 0);
    assert.equal(evictionPlan([], 5).size, 0);
    assert.equal(evictionPlan([{ function: 'a', runs: 0, bytes: 0 }], 5).size, 0);
  });
});
