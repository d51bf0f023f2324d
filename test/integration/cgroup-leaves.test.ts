/**
 * Cgroup leaves made ahead (poolmgr/host/cgroups.ts, docs/adr/0042-cold-start-steps.md): a
 * runtime's leaves come from a small stock made off the spawn path, each fresh (never used by
 * another runtime), with the limit every box gets from its start; the stock is refilled after a
 * leaf is taken, and a released runtime's leaves go with it. Root with cgroups only.
 */
import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { describe, it } from 'node:test';
import { REFILL_DELAY_MS } from '../../poolmgr/host/cgroups.js';
import { Cgroups } from '../../poolmgr/index.js';

const isRoot = process.geteuid?.() === 0;
/** Past the stock's refill. */
const later = (): Promise<void> => new Promise((resolve) => setTimeout(resolve, REFILL_DELAY_MS + 50));

describe('cgroup leaves made ahead (root mode)', { skip: isRoot ? false : 'needs root' }, () => {
  it('hands out fresh leaves from a stock it refills (a little later), and removes a released runtime\'s', async (t) => {
    const cgroups = Cgroups.open({ tasksMax: 37, cpuShares: 1024, leafStock: 2 }, `fp-${process.pid}-leaves-${Date.now()}`).cgroups;
    if (cgroups === null) return t.skip('no usable cgroups');
    t.after(() => cgroups.close());
    await later();
    const first = cgroups.forRuntime('r1');
    const roots = first.join.map((procs) => dirname(dirname(procs)));
    const leaves = (): string[] => readdirSync(roots[0]!, { withFileTypes: true }).filter((e) => e.isDirectory()).map((e) => e.name).sort();
    // Made before it was asked for: the stock of 2 existed, one was taken, and a little later it is 2 again.
    assert.equal(leaves().length, 2, 'one leaf taken from a stock of two');
    await later();
    assert.equal(leaves().length, 3, 'the stock refilled');
    const second = cgroups.forRuntime('r2');
    assert.notEqual(second.join[0], first.join[0], 'each runtime its own leaf');
    for (const procs of [...first.join, ...second.join]) {
      assert.equal(readFileSync(procs, 'utf8').trim(), '', `no process in ${procs}`);
    }
    const pidsMax = first.join.map((procs) => `${dirname(procs)}/pids.max`).filter((file) => existsSync(file));
    assert.ok(pidsMax.length > 0, 'a pids controller');
    for (const file of pidsMax) assert.equal(readFileSync(file, 'utf8').trim(), '37', 'the tasks limit, from the start');
    assert.deepEqual(cgroups.pids('r1'), []);
    await cgroups.release('r1');
    for (const procs of first.join) assert.equal(existsSync(dirname(procs)), false, `${dirname(procs)} removed`);
    await later();
    assert.ok(leaves().every((leaf) => `${roots[0]}/${leaf}/cgroup.procs` !== first.join[0]), 'a released leaf is never handed out again');
  });
});
