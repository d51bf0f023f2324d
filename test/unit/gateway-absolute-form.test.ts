/**
 * gateway/absolute-form.ts (ADR 0228): an absolute-form URL as the mended parser hands it over
 * becomes a path and an authority; the authority replaces every Host field, or is added.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { absoluteTarget, useAuthority } from '../../gateway/absolute-form.js';
import type { Pairs } from '../../protocol/index.js';

describe('absoluteTarget', () => {
  it('leaves origin-form alone', () => {
    assert.equal(absoluteTarget('/fn/a/x'), null);
    assert.equal(absoluteTarget('//x'), null);
  });
  it('splits the authority from the path, whatever the scheme\'s case', () => {
    assert.deepEqual(absoluteTarget('http://a.example:8080/fn/x/y'), { path: '/fn/x/y', authority: 'a.example:8080' });
    assert.deepEqual(absoluteTarget('HTTPS://a//b'), { path: '//b', authority: 'a' });
  });
  it('a target without a path is `/`; a fragment ends the authority and stays for the caller to drop', () => {
    assert.deepEqual(absoluteTarget('http://a'), { path: '/', authority: 'a' });
    assert.deepEqual(absoluteTarget('http://a#f/x'), { path: '/#f/x', authority: 'a' });
  });
  it('keeps userinfo in the authority, for the Host check to refuse', () => {
    assert.deepEqual(absoluteTarget('http://u@a/x'), { path: '/x', authority: 'u@a' });
  });
});

describe('useAuthority', () => {
  it('replaces every Host field, keeping their count; adds one when there is none', () => {
    const two: Pairs = [['host', 'x'], ['accept', '*/*'], ['host', 'y']];
    useAuthority(two, 'a:1');
    assert.deepEqual(two, [['host', 'a:1'], ['accept', '*/*'], ['host', 'a:1']]);
    const none: Pairs = [['accept', '*/*']];
    useAuthority(none, 'a');
    assert.deepEqual(none, [['accept', '*/*'], ['host', 'a']]);
  });
});
