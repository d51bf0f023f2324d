/** poolmgr/call-table.ts: the calls on one runtime by message id (an array, not a Map: issue 11). */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { CallTable } from '../../poolmgr/call-table.js';

describe('CallTable', () => {
  it('finds, removes and lists calls by message id, in the order they were added', () => {
    const table = new CallTable<{ msgId: number; name: string }>();
    const [a, b, c] = [{ msgId: 1, name: 'a' }, { msgId: 2, name: 'b' }, { msgId: 3, name: 'c' }];
    table.add(a);
    table.add(b);
    table.add(c);
    assert.equal(table.size, 3);
    assert.equal(table.get(2), b);
    assert.equal(table.get(4), undefined);
    assert.equal(table.delete(2), true); // from the middle
    assert.equal(table.delete(2), false);
    assert.equal(table.delete(1), true); // from the front
    assert.deepEqual(table.values(), [c]);
    table.add({ msgId: 4, name: 'd' });
    assert.deepEqual(table.values().map((x) => x.name), ['c', 'd']);
  });

  it('lists a copy: calls may end while the list is gone through', () => {
    const table = new CallTable<{ msgId: number }>();
    for (let id = 1; id <= 5; id++) table.add({ msgId: id });
    const seen: number[] = [];
    for (const call of table.values()) {
      seen.push(call.msgId);
      table.delete(call.msgId);
    }
    assert.deepEqual(seen, [1, 2, 3, 4, 5]);
    assert.equal(table.size, 0);
    table.add({ msgId: 9 });
    table.clear();
    assert.equal(table.size, 0);
    assert.equal(table.get(9), undefined);
  });
});
