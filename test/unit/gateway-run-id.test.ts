/** gateway/run-id.ts: run ids are random version-4 UUIDs in crypto.randomUUID()'s form, across refills, never repeated. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { newRunId } from '../../gateway/run-id.js';

const UUID_V4 = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

describe('newRunId', () => {
  it('gives version-4 UUIDs in lower case, each new, over many refills of its batch', () => {
    const seen = new Set<string>();
    for (let i = 0; i < 128 * 40 + 7; i++) {
      const id = newRunId();
      assert.match(id, UUID_V4);
      assert.equal(id.length, 36);
      seen.add(id);
    }
    assert.equal(seen.size, 128 * 40 + 7);
  });

  it('uses every hex digit in every random position (the bytes are random, not a fixed pattern)', () => {
    // 5000 ids: each of the 30 fully random digit positions sees all 16 digits (chance of a miss ~1e-136).
    const positions = new Map<number, Set<string>>();
    for (let i = 0; i < 5000; i++) {
      const id = newRunId();
      for (let p = 0; p < 36; p++) {
        if (p === 8 || p === 13 || p === 14 || p === 18 || p === 19 || p === 23) continue; // dashes, version, variant
        let set = positions.get(p);
        if (set === undefined) positions.set(p, (set = new Set()));
        set.add(id[p]!);
      }
    }
    assert.equal(positions.size, 30);
    for (const [p, digits] of positions) assert.equal(digits.size, 16, `position ${p}`);
  });

  it('gives a string that is its own (later ids do not change an earlier one)', () => {
    const first = newRunId();
    const copy = `${first}`;
    for (let i = 0; i < 300; i++) newRunId();
    assert.equal(first, copy);
  });
});
