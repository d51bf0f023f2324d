/** protocol/declared-length.ts: the one Content-Length a response declares, or none. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { declaredLength } from '../../protocol/index.js';

test('one numeric Content-Length, any case, spaces around: its value; none, two, or not a number: undefined', () => {
  assert.equal(declaredLength([['content-type', 'text/plain'], ['Content-Length', ' 12 ']]), 12);
  assert.equal(declaredLength([['content-length', '0']]), 0);
  assert.equal(declaredLength([['content-type', 'text/plain']]), undefined);
  assert.equal(declaredLength([['content-length', '3'], ['content-length', '3']]), undefined);
  for (const bad of ['-1', '1.5', '0x10', '', '1e3', '1234567890123456']) assert.equal(declaredLength([['content-length', bad]]), undefined, bad);
});
