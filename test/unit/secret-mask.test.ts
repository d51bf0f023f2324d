/**
 * protocol/secret-mask.ts (red team round 47, ADR 0269): a function's secret values masked in its
 * log lines and errors, whole values of at least MIN_MASKED_CHARS, in one pass whatever their number.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { MIN_MASKED_CHARS, secretMask } from '../../protocol/index.js';

describe('secretMask', () => {
  it('masks each whole value as [secret NAME], the longest ending at a place first; short ones are left', () => {
    assert.equal(secretMask({}), null);
    assert.equal(secretMask({ PIN: 'x'.repeat(MIN_MASKED_CHARS - 1) }), null);
    const mask = secretMask({ KEY: 'sk-live-123', LONG: 'sk-live-123-more', PIN: '1234', URL: 'postgres://u:pw@h/db' })!;
    assert.equal(mask('key=sk-live-123 long=sk-live-123-more pin=1234 url=postgres://u:pw@h/db.'),
      'key=[secret KEY] long=[secret LONG] pin=1234 url=[secret URL].');
    assert.equal(mask('nothing here'), 'nothing here');
    assert.equal(mask('sk-live-123sk-live-123'), '[secret KEY][secret KEY]');
  });

  it('leaves no value whole where two overlap (one span, named by the later)', () => {
    const mask = secretMask({ A: 'abcdefgh', B: 'cdefghij', C: 'xxabcdefghyy' })!;
    assert.equal(mask('1 abcdefghij 2 xxabcdefghyy 3 abcdefgh'), '1 [secret B] 2 [secret C] 3 [secret A]');
    assert.equal(mask('aabcdefgabcdefgh'), 'aabcdefg[secret A]');
  });

  it('one pass: 1024 secrets sharing a prefix with 512 KiB of near misses (a search per secret took over a second)', () => {
    const secrets = Object.fromEntries(Array.from({ length: 1024 }, (_, i) => [`S${i}`, `${'a'.repeat(40)}${String(i).padStart(5, '0')}`]));
    const mask = secretMask(secrets)!;
    const line = 'a'.repeat(1024);
    const started = performance.now();
    for (let i = 0; i < 512; i++) assert.equal(mask(line), line);
    const ms = performance.now() - started;
    assert.ok(ms < 400, `${ms} ms`); // one pass: ~10 ms idle; a search per secret: 1-2 s
    assert.equal(mask(`${'a'.repeat(60)}00777`), `${'a'.repeat(20)}[secret S777]`);
  });
});
