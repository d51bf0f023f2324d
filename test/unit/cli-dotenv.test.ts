/**
 * `.env` files for `env pull|push` (cli/dotenv.ts) and the push diff (cli/commands/env-sync.ts):
 * what is written reads back exactly, whatever the value holds; problems carry their line; the diff
 * names every change and never shows a secret's value.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { diffIsEmpty, envDiff, formatDiff } from '../../cli/commands/env-sync.js';
import { formatDotenv, parseDotenv, quoteDotenv } from '../../cli/dotenv.js';

const HOSTILE = ["it's", "it's ${HOME} and \\${X}", 'two\nlines', 'back\\slash and "quotes"', '$HOME ${HOME} `cmd`', ' padded ', '# not a comment', 'tab\there', 'cr\r\nlf', '', 'ünïcødé ✓', "'", '"'];

describe('dotenv', () => {
  it('reads back every value it writes, exactly', () => {
    const env = Object.fromEntries(HOSTILE.map((v, k) => [`V${k}`, v]));
    const text = formatDotenv(['header'], env, ['SECRET_ONE']);
    const read = parseDotenv(text);
    assert.deepEqual(read.problems, []);
    assert.deepEqual(Object.fromEntries(read.entries.map((e) => [e.name, e.value])), env);
    assert.deepEqual(read.keptSecrets, ['SECRET_ONE']);
    assert.ok(read.entries.every((e) => !e.secret));
  });

  it('quotes with single quotes when it can (read literally everywhere)', () => {
    assert.equal(quoteDotenv('plain $HOME'), "'plain $HOME'");
    assert.equal(quoteDotenv("it's"), '"it\'s"');
    assert.equal(quoteDotenv('a\nb'), '"a\\nb"');
  });

  it('reads the common dotenv forms, comments and the secret marker', () => {
    const read = parseDotenv([
      '# comment',
      '',
      'export A=1',
      'B = bare value   # trailing comment',
      "C='single # not a comment'",
      'D="double\\tescape \\"q\\" \\$x"',
      'E=pass  # secret',
      "F='multi",
      "line'  # SECRET: rotate monthly",
      'G=',
      '  # secret: KEPT',
    ].join('\n'));
    assert.deepEqual(read.problems, []);
    assert.deepEqual(read.entries.map((e) => [e.name, e.value, e.secret, e.line]), [
      ['A', '1', false, 3],
      ['B', 'bare value', false, 4],
      ['C', 'single # not a comment', false, 5],
      ['D', 'double\tescape "q" $x', false, 6],
      ['E', 'pass', true, 7],
      ['F', 'multi\nline', true, 8],
      ['G', '', false, 10],
    ]);
    assert.deepEqual(read.keptSecrets, ['KEPT']);
  });

  it('expands ${NAME} and ${NAME:-default} as python-dotenv does: earlier lines, then the environment; not in single quotes or after \\$', () => {
    const read = parseDotenv([
      'HOST=db.local',
      'URL=postgres://${HOST}:${PORT:-5432}/app',
      'QUOTED="${HOST} and \\${HOST}"',
      "LITERAL='${HOST}'",
      'FROM_ENV=${TEST_SHELL_VALUE}',
      'MISSING=[${NOPE}]',
      'EMPTY=',
      'KEPT_EMPTY=[${EMPTY:-fallback}]',
      'LATER=${DEFINED_BELOW}',
      'DEFINED_BELOW=x',
    ].join('\n'), { TEST_SHELL_VALUE: 'from the shell', HOST: 'the environment loses to the file' });
    assert.deepEqual(read.problems, []);
    assert.deepEqual(Object.fromEntries(read.entries.map((e) => [e.name, e.value])), {
      HOST: 'db.local', URL: 'postgres://db.local:5432/app', QUOTED: 'db.local and ${HOST}', LITERAL: '${HOST}',
      FROM_ENV: 'from the shell', MISSING: '[]', EMPTY: '', KEPT_EMPTY: '[]', LATER: '', DEFINED_BELOW: 'x',
    });
  });

  it('refuses a reference to an FP_ variable (FP_TOKEN is the deployer\'s token), with or without a default, bare or quoted', () => {
    const read = parseDotenv(['A=${FP_TOKEN}', 'B="x${fp_url:-y}"', "C='${FP_TOKEN}'", 'FP_OWN=1', 'D=${FP_OWN}', 'E=${HOME}'].join('\n'), { FP_TOKEN: 'fpa_secret', HOME: '/h' });
    assert.deepEqual(read.problems.map((p) => p.line), [1, 2, 5]);
    assert.match(read.problems[0]!.message, /references \$\{FP_TOKEN\}: FP_ variables configure the platform and the CLI/);
    assert.deepEqual(read.entries.map((e) => [e.name, e.value]), [['C', '${FP_TOKEN}'], ['FP_OWN', '1'], ['E', '/h']]);
    assert.ok(!JSON.stringify(read).includes('fpa_secret'));
  });

  it('names each value the environment filled, not those the file set before or left unset (red team round 11: dev says so)', () => {
    const read = parseDotenv(['A=1', 'B=${A}', 'C="${SHELL_KEY}-${A}"', "D='${SHELL_KEY}'", 'E=${NOT_SET:-d}', 'F=${SHELL_KEY}${OTHER}', 'G=${SHELL_KEY', '1BAD=${SHELL_KEY}'].join('\n'), { SHELL_KEY: 'k', OTHER: 'o' });
    assert.deepEqual(read.fromEnvironment, [{ name: 'C', from: 'SHELL_KEY' }, { name: 'F', from: 'SHELL_KEY' }, { name: 'F', from: 'OTHER' }]);
  });

  it('reports problems with their line instead of guessing', () => {
    const read = parseDotenv(['A=1', '1BAD=x', 'just words', "B='open", 'C=1', 'A=2', 'D="x" y'].join('\n'));
    assert.deepEqual(read.problems.map((p) => p.line), [2, 3, 4, 6, 7]);
    assert.deepEqual(read.entries.map((e) => e.name), ['A', 'C']);
    assert.match(read.problems.find((p) => p.line === 6)!.message, /set twice \(lines 1 and 6\)/);
  });
});

describe('env push diff', () => {
  const file = (text: string) => parseDotenv(text);

  it('plain values: added, changed, removed; the manifest is the base, the file wins', () => {
    const d = envDiff({ env: { KEEP: 'k', OLD: 'o', CHANGE: 'a' }, secrets: [] }, { KEEP: 'k', FROM_YAML: 'y' }, file("CHANGE='b'\nNEW='n'"), new Set());
    assert.deepEqual(d.added.map((a) => a.name), ['FROM_YAML', 'NEW']);
    assert.deepEqual(d.changed, [{ name: 'CHANGE', from: 'a', to: 'b' }]);
    assert.deepEqual(d.removed.map((r) => r.name), ['OLD']);
    assert.deepEqual(d.env, { KEEP: 'k', FROM_YAML: 'y', CHANGE: 'b', NEW: 'n' });
  });

  it('secrets: set from marked lines or --as-secret, kept when absent, turned plain when given unmarked; values never shown', () => {
    const d = envDiff({ env: { WAS_PLAIN: 'p' }, secrets: ['KEPT', 'REPLACED', 'TO_PLAIN'] }, {},
      file("WAS_PLAIN='hunter2-a'  # secret\nREPLACED='hunter2-b'\nBRAND_NEW='hunter2-c' # secret\nTO_PLAIN='visible'"), new Set(['REPLACED']));
    assert.deepEqual(d.secretsSet, [{ name: 'BRAND_NEW', was: 'new' }, { name: 'REPLACED', was: 'secret' }, { name: 'WAS_PLAIN', was: 'plain' }]);
    assert.deepEqual(d.secretsKept, ['KEPT']);
    assert.deepEqual(d.secretsToPlain, ['TO_PLAIN']);
    assert.deepEqual(d.env, { TO_PLAIN: 'visible' });
    assert.deepEqual(d.removed, []);
    const shown = formatDiff(d).join('\n');
    assert.doesNotMatch(shown, /hunter2/);
    assert.match(shown, /BRAND_NEW \(secret: value hidden\)/);
    assert.match(shown, /TO_PLAIN="visible"  \(was a secret\)/);
  });

  it('is empty when the function already has what the file says', () => {
    const d = envDiff({ env: { A: '1' }, secrets: ['S'] }, {}, file("A='1'\n# secret: S"), new Set());
    assert.equal(diffIsEmpty(d), true);
  });

  it('shows plain values escaped: a value cannot drive the terminal', () => {
    const d = envDiff({ env: {}, secrets: [] }, {}, file('X="\\u001b[2J"\nY="a\\nb"'), new Set());
    const shown = formatDiff(d).join('\n');
    assert.doesNotMatch(shown, /[\x00-\x08\x0b-\x1f]/);
  });
});
