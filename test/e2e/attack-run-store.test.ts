/**
 * Red team, part 6 (December 2026, second probe): the run store's size cap against one function.
 * `FP_RUN_STORE_MAX_BYTES` caps the whole store. A function that fails every call with its full
 * 256 KiB of logs gets every run recorded and fills the cap; past it the oldest runs used to go
 * whatever their function or workspace, so it deleted every other function's run history. Now
 * the runs of whoever holds the most bytes go first (controlplane/store/eviction.ts; docs/stores.md,
 * "By size"): the flood costs the flooder's own history only.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { deployed, fnName, py, runsWritten, until, usePlatform } from './platform-harness.js';

const MIB = 1024 * 1024;
const VICTIM = fnName('keeper');
const ATTACKER = fnName('flooder');

const h = usePlatform({ runStoreMaxBytes: 4 * MIB, runStoreCheckMs: 500, poolSize: 1 }, async (p) => {
  await deployed(p.api, VICTIM, { 'main.py': py('def handler(event, context):', '    return {"ok": True}') });
  await deployed(p.api, ATTACKER, {
    'main.py': py('def handler(event, context):', '    print("L" * 200000)', '    raise ValueError("fill the run store")'),
  });
});

async function runsOf(name: string): Promise<number> {
  await runsWritten(h.url);
  const res = await h.api.call('GET', `/runs?function=${name}&limit=100`);
  return (res.body as { items: unknown[] }).items.length;
}

describe('attack: the run store\'s size cap', () => {
  it('a function failing with full logs does not delete another function\'s runs', { timeout: 120_000 }, async () => {
    for (let i = 0; i < 3; i++) assert.equal((await fetch(`${h.url}/fn/${VICTIM}/`)).status, 200);
    assert.equal(await runsOf(VICTIM), 3);
    for (let i = 0; i < 40; i++) assert.equal((await fetch(`${h.url}/fn/${ATTACKER}/`)).status, 500);
    // The size check runs every 500 ms here (FP_RUN_STORE_CHECK_MS, 10 s by default): wait for
    // the one that pruned, seen as the flooder's runs going, not for two default intervals.
    await until('a size check pruned the flooder\'s runs', async () => (await runsOf(ATTACKER)) < 40, 30_000);
    assert.equal(await runsOf(VICTIM), 3, 'the flooder\'s runs pushed the victim\'s out of the store');
  });
});
