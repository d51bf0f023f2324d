/**
 * A spawned runtime's pipes read under the box's budget (poolmgr/host/spawned-output.ts): what goes
 * on, what is counted as dropped and when, the dropped stderr's tail at the end, and the pause.
 */
import assert from 'node:assert/strict';
import { PassThrough } from 'node:stream';
import { describe, it } from 'node:test';
import { FORWARD_BYTES, SpawnedOutput, TAIL_BYTES } from '../../poolmgr/host/spawned-output.js';

function harness(now: () => number = () => 0) {
  const out: Array<[string, string]> = [];
  const dropped: number[] = [];
  const output = new SpawnedOutput({ out: (s, t) => out.push([s, t]), dropped: (n) => dropped.push(n) }, now);
  const stdout = new PassThrough();
  const stderr = new PassThrough();
  output.read(stdout, 'stdout');
  output.read(stderr, 'stderr');
  return { out, dropped, stdout, stderr };
}
const tick = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));
const closed = (s: PassThrough): Promise<void> => new Promise((resolve) => { s.on('close', () => resolve()); s.end(); s.resume(); });

describe('a spawned runtime\'s output', () => {
  it('goes on whole within the budget, a character split between chunks decoded whole', async () => {
    const h = harness();
    const euro = Buffer.from('€', 'utf8');
    h.stdout.write(Buffer.concat([Buffer.from('a '), euro.subarray(0, 1)]));
    h.stdout.write(Buffer.concat([euro.subarray(1), Buffer.from('\n')]));
    h.stderr.write('err\n');
    await tick();
    assert.equal(h.out.filter(([s]) => s === 'stdout').map(([, t]) => t).join(''), 'a €\n');
    assert.deepEqual(h.out.filter(([s]) => s === 'stderr'), [['stderr', 'err\n']]);
    await Promise.all([closed(h.stdout), closed(h.stderr)]);
    assert.deepEqual(h.dropped, []);
  });

  it('past the budget (both streams together) counts and drops, pauses the pipe, and at the end says how much and gives the dropped stderr\'s last part', async () => {
    const h = harness();
    h.stdout.write(Buffer.alloc(FORWARD_BYTES - 10, 0x61));
    await tick();
    h.stderr.write(Buffer.concat([Buffer.alloc(10, 0x62), Buffer.alloc(50_000, 0x63), Buffer.from('last words\n')]));
    await tick();
    const kept = h.out.reduce((n, [, t]) => n + Buffer.byteLength(t), 0);
    assert.equal(kept, FORWARD_BYTES, 'the budget, to the byte');
    assert.equal(h.stderr.isPaused(), true, 'not read again until the pause is over');
    await Promise.all([closed(h.stdout), closed(h.stderr)]);
    const last = h.out.at(-1)!;
    assert.equal(last[0], 'stderr');
    assert.equal(Buffer.byteLength(last[1]), TAIL_BYTES);
    assert.ok(last[1].endsWith('ccclast words\n'), last[1].slice(-20));
    assert.deepEqual(h.dropped, [50_000 + 11 - TAIL_BYTES], 'dropped, less the tail that went on');
  });

  it('a new window forwards again, and first says what the last one dropped', async () => {
    let now = 0;
    const h = harness(() => now);
    h.stdout.write(Buffer.alloc(FORWARD_BYTES + 100, 0x61));
    await tick();
    now += 10_000;
    await new Promise((resolve) => setTimeout(resolve, 30)); // the pause
    h.stdout.write('next window\n');
    await tick();
    assert.deepEqual(h.dropped, [100]);
    assert.deepEqual(h.out.at(-1), ['stdout', 'next window\n']);
  });
});
