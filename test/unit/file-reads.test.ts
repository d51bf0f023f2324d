/** The bound on version files read into API answers at once (controlplane/service/file-reads.ts). */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { FileReads } from '../../controlplane/service/file-reads.js';

const MIB = 1024 * 1024;

/** A read that holds its place until `done()` is called. */
function holding(reads: FileReads, workspace: string, bytes: number): { done: () => void; result: Promise<string> } {
  let done!: () => void;
  const gate = new Promise<void>((resolve) => (done = resolve));
  return { done, result: reads.with(workspace, bytes, async () => (await gate, 'read')) };
}

const busy = (err: unknown): boolean => (err as { code?: string }).code === 'FILE_READS_BUSY';

describe('FileReads', () => {
  it('a workspace reads a quarter at once; its other reads wait their turn, in order, while another workspace\'s are served', async () => {
    const reads = new FileReads(64 * MIB);
    const order: string[] = [];
    const first = holding(reads, 'att', 10 * MIB);
    const second = reads.with('att', 10 * MIB, async () => void order.push('att 2'));
    const third = reads.with('att', MIB, async () => void order.push('att 3'));
    assert.equal(await reads.with('acme', 10 * MIB, async () => 'served'), 'served');
    assert.deepEqual(order, [], 'the workspace\'s second read ran past its share');
    first.done();
    await first.result;
    await Promise.all([second, third]);
    assert.deepEqual(order, ['att 2', 'att 3']);
  });

  it('past the total every workspace is refused; a read alone is served whatever its size', async () => {
    const reads = new FileReads(16 * MIB);
    assert.equal(await reads.with('a', 40 * MIB, async () => 'alone'), 'alone');
    const held = ['a', 'b', 'c', 'd'].map((w) => holding(reads, w, 4 * MIB));
    await assert.rejects(reads.with('e', MIB, async () => 'x'), busy);
    for (const h of held) h.done();
    await Promise.all(held.map((h) => h.result));
    assert.equal(await reads.with('e', MIB, async () => 'served'), 'served');
  });

  it('a read that fails releases its place', async () => {
    const reads = new FileReads(4 * MIB);
    await assert.rejects(reads.with('a', 4 * MIB, async () => {
      throw new Error('gone');
    }), /gone/);
    assert.equal(await reads.with('b', 4 * MIB, async () => 'served'), 'served');
  });
});
