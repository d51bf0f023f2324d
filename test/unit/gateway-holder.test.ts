/**
 * A long call's holder (gateway/holder.ts): the admission's check at most once per HOLD_CHECK_MS,
 * the clock read at most once a turn of the event loop (the pieces of one read share it: ADR 0203),
 * a refusal seen at the first ask of a later turn past HOLD_CHECK_MS, and kept.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { callHolder, HOLD_CHECK_MS } from '../../gateway/holder.js';
import type { FunctionRegistry } from '../../gateway/registry.js';

const nextTurn = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

function setup(): { holder: () => boolean; reads: () => number; checks: () => number; advance: (ms: number) => void; revoke: () => void } {
  let clock = 1_000_000;
  let reads = 0;
  let checks = 0;
  let admitted = true;
  const registry = {
    resolve: () => {
      checks++;
      return { found: true, auth: { check: () => (admitted ? 'ok' : 'revoked') } };
    },
  } as unknown as FunctionRegistry;
  const holder = callHolder(registry, 'fn', 'secret', () => {
    reads++;
    return clock;
  });
  return { holder, reads: () => reads, checks: () => checks, advance: (ms) => (clock += ms), revoke: () => (admitted = false) };
}

describe('callHolder', () => {
  test('many asks in one turn read the clock once; the next turn reads it again', async () => {
    const h = setup();
    const before = h.reads();
    for (let i = 0; i < 100; i++) assert.equal(h.holder(), true);
    assert.equal(h.reads() - before, 1);
    await nextTurn();
    h.holder();
    assert.equal(h.reads() - before, 2);
  });

  test('a revocation is seen at the first ask of a later turn past HOLD_CHECK_MS, and kept', async () => {
    const h = setup();
    assert.equal(h.holder(), true);
    await nextTurn();
    h.revoke();
    assert.equal(h.holder(), true, 'within HOLD_CHECK_MS: the last verdict');
    assert.equal(h.checks(), 0);
    await nextTurn();
    h.advance(HOLD_CHECK_MS);
    assert.equal(h.holder(), false);
    assert.equal(h.checks(), 1);
    await nextTurn();
    h.advance(HOLD_CHECK_MS);
    assert.equal(h.holder(), false, 'once refused, refused');
  });
});
