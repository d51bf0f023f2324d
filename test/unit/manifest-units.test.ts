import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { describeBytes, formatDurationMs, formatLongDurationMs, formatMemoryBytes, parseDurationMs, parseLongDurationMs, parseGraceMs, parseMemoryBytes, UnitError } from '../../protocol/index.js';

describe('parseDurationMs', () => {
  const cases: [string, number][] = [
    ['500ms', 500],
    ['30s', 30_000],
    ['1.5s', 1500],
    ['2m', 120_000],
    ['1h', 3_600_000],
    [' 10s ', 10_000],
    ['\t2s', 2000],
  ];
  for (const [text, ms] of cases) it(`${JSON.stringify(text)} → ${ms}`, () => assert.equal(parseDurationMs(text), ms));

  // Not a safe integer of ms (found by the API fuzz test); other whitespace than spaces and tabs; non-ASCII digits.
  for (const bad of ['30', '', 's', '-1s', '1d', '1 s', '0ms', '0.1ms', 'abc', '417172839999999999h', '\u00a010s', '١s']) {
    it(`refuses ${JSON.stringify(bad)}`, () => assert.throws(() => parseDurationMs(bad), (e: unknown) => e instanceof UnitError && e.code === 'BAD_UNIT'));
  }
});

describe('parseGraceMs (the API\'s grace and the CLI\'s --grace)', () => {
  it('takes a duration up to 168h, any zero ending the old secret at once; refuses the rest', () => {
    assert.equal(parseGraceMs('0s'), 0);
    assert.equal(parseGraceMs('0ms'), 0);
    assert.equal(parseGraceMs('90m'), 5_400_000);
    assert.equal(parseGraceMs('168h'), 168 * 3_600_000);
    for (const bad of ['169h', '1d', 'forever', '0', '', '-1h']) assert.throws(() => parseGraceMs(bad), UnitError, bad);
  });
});

describe('parseMemoryBytes', () => {
  const cases: [string, number][] = [
    ['256Mi', 256 * 1024 ** 2],
    ['1Gi', 1024 ** 3],
    ['512M', 512_000_000],
    ['64MiB', 64 * 1024 ** 2],
    ['100k', 100_000],
    ['1048576', 1_048_576],
    ['0.5Gi', 512 * 1024 ** 2],
  ];
  for (const [text, bytes] of cases) it(`${JSON.stringify(text)} → ${bytes}`, () => assert.equal(parseMemoryBytes(text), bytes));

  for (const bad of ['', 'Mi', '1X', '-1Mi', '1 Mi', '1mi', '99999999999Ti', '\n1Mi']) {
    it(`refuses ${JSON.stringify(bad)}`, () => assert.throws(() => parseMemoryBytes(bad), UnitError));
  }
});

describe('formatting back', () => {
  it('gives the shortest exact form', () => {
    assert.equal(formatDurationMs(30_000), '30s');
    assert.equal(formatDurationMs(1500), '1500ms');
    assert.equal(formatDurationMs(120_000), '2m');
    assert.equal(formatLongDurationMs(7 * 86_400_000), '7d');
    assert.equal(formatLongDurationMs(36 * 3_600_000), '36h');
    assert.equal(parseLongDurationMs(formatLongDurationMs(90 * 86_400_000)), 90 * 86_400_000);
    assert.equal(formatMemoryBytes(256 * 1024 ** 2), '256Mi');
    assert.equal(formatMemoryBytes(1000), '1000');
    // `memory: 100M` was shown back as `memory 100000000` (deploy's Limits line, functions show).
    assert.equal(formatMemoryBytes(100_000_000), '100M');
    assert.equal(formatMemoryBytes(2 * 1000 ** 3), '2G');
    assert.equal(parseMemoryBytes(formatMemoryBytes(100_000_000)), 100_000_000);
    assert.equal(describeBytes(100_000_000), '95.4 MiB (100000000 bytes)');
  });

  it('describes a size for an error message with the exact figure kept', () => {
    assert.equal(describeBytes(6 * 1024 ** 2), '6 MiB (6291456 bytes)');
    assert.equal(describeBytes(512 * 1024 ** 3), '512 GiB (549755813888 bytes)');
    assert.equal(describeBytes(64 * 1024), '64 KiB (65536 bytes)');
    assert.equal(describeBytes(1000), '1000 bytes');
    // Not a whole number of a unit: one decimal, so "56624918 bytes" is readable (new-user round).
    assert.equal(describeBytes(56_624_918), '54.0 MiB (56624918 bytes)');
    assert.equal(describeBytes(1536), '1.5 KiB (1536 bytes)');
  });
});
