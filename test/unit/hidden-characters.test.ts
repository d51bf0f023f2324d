/**
 * The names rule (protocol/hidden-characters.ts) in its two spellings: the Unicode-category pattern
 * the platform checks with, and the spelled-out BMP pattern the OpenAPI document carries for tools
 * whose regex engines have no `\p{…}` (Schemathesis could generate no token label from the first).
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { isShownAsItIs, SHOWN_AS_IT_IS, SHOWN_AS_IT_IS_BMP } from '../../protocol/hidden-characters.js';

test('the spelled-out BMP pattern refuses exactly the characters the category pattern refuses, for every BMP code point', () => {
  const differ: string[] = [];
  for (let cp = 0; cp <= 0xffff; cp++) {
    if (cp >= 0xd800 && cp <= 0xdfff) continue; // surrogates: not characters on their own
    const ch = String.fromCharCode(cp);
    if (SHOWN_AS_IT_IS.test(ch) !== SHOWN_AS_IT_IS_BMP.test(ch)) differ.push(cp.toString(16));
  }
  assert.deepEqual(differ, []);
});

test('the BMP pattern uses no Unicode property escape (other regex engines read it) and the check refuses format characters beyond the BMP', () => {
  assert.doesNotMatch(SHOWN_AS_IT_IS_BMP.source, /\\p\{/);
  assert.equal(SHOWN_AS_IT_IS_BMP.flags, '');
  for (const ch of ['\u{110BD}', '\u{E0001}', '\u{E0041}', '\u{1D173}']) {
    assert.equal(isShownAsItIs(`ci ${ch}x`), false, ch.codePointAt(0)!.toString(16));
  }
  assert.equal(isShownAsItIs('équipe CI 🚀'), true);
  assert.equal(isShownAsItIs('ci \u061c10-20'), false);
});
