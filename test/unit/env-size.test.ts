/** protocol/env-size.ts: a function's env and secrets together, names and values in UTF-8, at most 64 KiB. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { envBytes, envSizeProblem, MAX_ENV_BYTES, MAX_ENV_KEYS, parseManifest } from '../../protocol/index.js';

test('counts names and values in UTF-8 bytes, env and secrets together', () => {
  assert.equal(envBytes({ AB: 'cd' }, { E: 'é' }), 2 + 2 + 1 + 2);
  assert.equal(envBytes({}), 0);
});

test('at the bound: fine; one byte past: a problem that names the size and never a value', () => {
  const name = 'K';
  const exact = { [name]: 'x'.repeat(MAX_ENV_BYTES - 1) };
  assert.equal(envSizeProblem(exact), null);
  const problem = envSizeProblem(exact, { S: '' });
  assert.match(problem ?? '', /^env and secrets take 65537 bytes .* at most 65536 \(64 KiB\)/);
  assert.doesNotMatch(problem ?? '', /xxx/);
});

test('platform.yaml with more env than that is refused at validate, at `env`', () => {
  const big = 'x'.repeat(40 * 1024);
  assert.throws(() => parseManifest({ kind: 'function', name: 'f', env: { A: big, B: big } }), /- env: env and secrets take 81922 bytes .*64 KiB/);
  assert.equal(parseManifest({ kind: 'function', name: 'f', env: { A: big } }).env['A'], big);
});

test('at most 1024 names, env and secrets together, whatever their size', () => {
  const names = (n: number, prefix: string): Record<string, string> => Object.fromEntries(Array.from({ length: n }, (_, i) => [`${prefix}${i}`, '']));
  assert.equal(envSizeProblem(names(1000, 'E'), names(24, 'S')), null);
  assert.match(envSizeProblem(names(1000, 'E'), names(25, 'S')) ?? '', new RegExp(`^env and secrets have 1025 names; a function holds at most ${MAX_ENV_KEYS}`));
});
