/**
 * `up --demo` (what `npm start` runs) says under its cold call when the machine is busier than its
 * CPUs: a newcomer saw `cold start (init 109 ms)` at load 10 on 2 cores, against README's 4.6 ms, and
 * nothing said why (new-user round 7). cli/commands/up.ts `busyMachineNote`.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { busyMachineNote } from '../../cli/commands/up.js';

describe('up --demo: the busy-machine line under the cold call', () => {
  it('names the load, the CPUs and where the quiet figures are when the load is at the CPU count or above', () => {
    const note = busyMachineNote(10.5, 2);
    assert.ok(note !== null);
    assert.match(note, /busy, load average 10\.5 on 2 CPUs/);
    assert.match(note, /README "Performance"/);
    assert.match(busyMachineNote(2, 2) ?? '', /load average 2\.0 on 2 CPUs/);
    assert.match(busyMachineNote(1.25, 1) ?? '', /on 1 CPU:/);
  });

  it('says nothing on a machine with CPUs to spare, or without a load figure', () => {
    assert.equal(busyMachineNote(1.9, 2), null);
    assert.equal(busyMachineNote(0, 4), null);
    assert.equal(busyMachineNote(Number.NaN, 2), null);
  });
});
