/**
 * GenericPool's `warmNext` (docs/adr/0114-specialize-pages-written-ahead.md): one ready runtime at a
 * time is sent `warm`, and `take()` hands it out before the newest. The processes here are
 * stand-ins with the four members the pool uses; the runtime's side of `warm` is tested with real
 * runtimes in test/integration/zygotes.test.ts.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { GenericPool } from '../../poolmgr/generic-pool.js';
import type { RuntimeProcess } from '../../poolmgr/runtime-process.js';
import type { HostMessage } from '../../protocol/messages.js';

class Proc {
  alive = true;
  listener: unknown = null;
  sent: string[] = [];
  ready: Promise<void>;
  boot!: () => void;
  constructor(readonly name: string) {
    this.ready = new Promise((resolve) => { this.boot = resolve; });
  }
  send(msg: HostMessage): boolean {
    this.sent.push(msg.t);
    return true;
  }
  nextId(): number {
    return 1;
  }
}

const turn = (): Promise<void> => new Promise((resolve) => setTimeout(resolve, 5));

function pool(warmNext: boolean): { generic: GenericPool; procs: Proc[] } {
  const procs: Proc[] = [];
  const generic = new GenericPool(2, () => {
    const proc = new Proc(`p${procs.length + 1}`);
    procs.push(proc);
    return proc as unknown as RuntimeProcess;
  }, 0, warmNext);
  return { generic, procs };
}

async function started(generic: GenericPool, procs: Proc[]): Promise<void> {
  const done = generic.start();
  for (let i = 0; i < 10 && procs.length < 2; i++) await turn();
  for (const proc of procs) proc.boot();
  await done;
}

describe('GenericPool warmNext', () => {
  it('warms one runtime, the newest, and takes the warm one before a newer one', async () => {
    const { generic, procs } = pool(true);
    await started(generic, procs);
    await turn();
    assert.deepEqual(procs.map((p) => p.sent), [[], ['warm']], 'the newest ready runtime, once');
    assert.equal((generic.take() as unknown as Proc).name, 'p2');
    // The refill's runtime boots later than the next warm: the older one is warmed, then taken first.
    for (let i = 0; i < 10 && procs.length < 3; i++) await turn();
    await turn();
    assert.deepEqual(procs.map((p) => p.sent), [['warm'], ['warm'], []]);
    procs[2]!.boot();
    await turn();
    assert.deepEqual(procs.map((p) => p.sent), [['warm'], ['warm'], []], 'one warm runtime at a time');
    assert.equal((generic.take() as unknown as Proc).name, 'p1', 'the warm one, not the newest');
    generic.close();
  });

  it('sends nothing and takes the newest without it', async () => {
    const { generic, procs } = pool(false);
    await started(generic, procs);
    await turn();
    assert.equal((generic.take() as unknown as Proc).name, 'p2');
    for (let i = 0; i < 10 && procs.length < 3; i++) await turn();
    procs[2]!.boot();
    await turn();
    assert.equal((generic.take() as unknown as Proc).name, 'p3');
    assert.deepEqual(procs.map((p) => p.sent), [[], [], []]);
    generic.close();
  });
});
