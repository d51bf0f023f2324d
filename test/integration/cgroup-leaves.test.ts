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
import { hostTaskShare, REFILL_DELAY_MS } from '../../poolmgr/host/cgroups.js';
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

  it('splits the CPU weight per workspace, then per function, then per instance (a tenant with many functions gets one share)', async (t) => {
    const cgroups = Cgroups.open({ tasksMax: 37, cpuShares: 1024 }, `fp-${process.pid}-weights-${Date.now()}`).cgroups;
    if (cgroups === null) return t.skip('no usable cgroups');
    t.after(() => cgroups.close());
    // Each runtime's leaves, made once (as a spawn does), before it is placed.
    const dirs = new Map<string, string>();
    const cpuDir = (rid: string): string => {
      if (!dirs.has(rid)) {
        const { binds } = cgroups.forRuntime(rid);
        dirs.set(rid, binds['cpu'] ?? binds['unified']!);
      }
      return dirs.get(rid)!;
    };
    const file = existsSync(`${cpuDir('probe')}/cpu.shares`) ? 'cpu.shares' : 'cpu.weight';
    if (file !== 'cpu.shares') return t.skip('the figures below are cgroup v1 shares');
    const placed = (rid: string, fn: string): string => {
      cpuDir(rid);
      const ops = cgroups.place(rid, fn, 0);
      const write = ops.find((op) => 'write' in op) as { write: Record<string, string> };
      return Object.values(write.write)[0]!;
    };
    const onHost = (rid: string): string => readFileSync(`${cpuDir(rid)}/cpu.shares`, 'utf8').trim();
    const turn = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));
    // Workspace a: three functions, one instance each; workspace b: one function.
    assert.equal(placed('a1', 'one.wsa'), '1024');
    assert.equal(placed('a2', 'two.wsa'), '512');
    assert.equal(placed('a3', 'three.wsa'), '341');
    assert.equal(placed('b1', 'solo.wsb'), '1024', 'another workspace keeps its whole weight');
    await turn();
    assert.deepEqual(['a1', 'a2', 'a3'].map(onHost), ['341', '341', '341'], "the workspace's leaves rebalanced");
    // A second instance of b's function: its two halves.
    assert.equal(placed('b2', 'solo.wsb'), '512');
    await turn();
    assert.deepEqual(['b1', 'b2'].map(onHost), ['512', '512']);
    // a's functions go idle: the last one gets the workspace's weight back.
    await cgroups.release('a1');
    await cgroups.release('a2');
    await turn();
    assert.equal(onHost('a3'), '1024');
    // The default workspace is one workspace too.
    assert.equal(placed('d1', 'plain'), '1024');
    assert.equal(placed('d2', 'other'), '512');
  });

  it("bounds the tasks of all the platform's boxes together: half of what the host can have", async (t) => {
    const share = hostTaskShare();
    const pidMax = Number(readFileSync('/proc/sys/kernel/pid_max', 'utf8'));
    assert.ok(share !== undefined && share > 0 && share <= pidMax / 2, `share ${share} of pid_max ${pidMax}`);
    const cgroups = Cgroups.open({ tasksMax: 37, totalTasksMax: 77, cpuShares: 1024 }, `fp-${process.pid}-total-${Date.now()}`).cgroups;
    if (cgroups === null) return t.skip('no usable cgroups');
    t.after(() => cgroups.close());
    const leaf = cgroups.forRuntime('r1').join.find((procs) => existsSync(`${dirname(procs)}/pids.max`))!;
    assert.equal(readFileSync(`${dirname(leaf)}/pids.max`, 'utf8').trim(), '37', 'each instance its own');
    assert.equal(readFileSync(`${dirname(dirname(leaf))}/pids.max`, 'utf8').trim(), '77', 'all of them together');
  });
});
