/** gateway/responses.ts `ms`: Server-Timing durations written from integers, exactly as the double's own form. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ms } from '../../gateway/responses.js';

const reference = (v: number): string => (Math.round(v * 100) / 100).toString();

describe('Server-Timing ms', () => {
  it('writes what (Math.round(v * 100) / 100).toString() writes', () => {
    const values = [0, -0, 0.004, 0.005, 0.015, 0.07, 0.1, 1.005, 2.675, 1e-9, 12, 12.3456, 99.995, 1e12 + 0.01, 123456.78, NaN, -1.5, Infinity, -Infinity, 5e15];
    // A fixed pseudo-random spread (no Math.random: the same values every run).
    let x = 12345;
    for (let i = 0; i < 200_000; i++) {
      x = (x * 1103515245 + 12345) % 2147483648;
      values.push((x / 2147483648) * [10, 1000, 1e7][i % 3]!);
    }
    for (const v of values) assert.equal(ms(v), reference(v), String(v));
  });
});
