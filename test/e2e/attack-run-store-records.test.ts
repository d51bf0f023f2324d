/**
 * Red team round 34: the run store's size cap against a tenant whose run records are large without
 * logs. Past `FP_RUN_STORE_MAX_BYTES` the runs of whichever workspace holds the most bytes go first
 * (controlplane/store/eviction.ts), but what a workspace held was counted as its log bytes plus
 * ~1 KiB a record: an error's message and traceback (64 Ki characters each, ~256 KB a record in
 * UTF-8) weighed 1 KiB. A function failing with such errors filled the cap while weighing less
 * than another tenant's few runs with a little log text, whose history was deleted instead.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { deployed, newTenant, py, runsWritten, until, usePlatform, type Api } from './platform-harness.js';

const MIB = 1024 * 1024;
const h = usePlatform({ runStoreMaxBytes: 2 * MIB, runStoreCheckMs: 500, poolSize: 1 });

async function runsOf(api: Api, name: string): Promise<number> {
  await runsWritten(h.url);
  const res = await api.call('GET', `/runs?function=${name}&limit=100`);
  assert.equal(res.status, 200, JSON.stringify(res.body));
  return (res.body as { items: unknown[] }).items.length;
}

describe('attack: the run store\'s size cap against records large without logs', () => {
  it('a tenant failing with 64 Ki-character errors and no logs does not delete another tenant\'s runs', { timeout: 120_000 }, async () => {
    const { name: keepers, api: victim } = await newTenant(h);
    const { name: fillers, api: attacker } = await newTenant(h);
    // The victim: five calls with 10 KB of log text each (~55 KB as the cap's plan counts it).
    await deployed(victim, 'keeper', { 'main.py': py('def handler(event, context):', '    print("k" * 10000)', '    return {"ok": True}') });
    // The attacker: no log line; each run's error message (and so its traceback) is 64 Ki
    // two-byte characters: ~256 KB a record, counted as 1 KiB before.
    await deployed(attacker, 'filler', { 'main.py': py('def handler(event, context):', '    raise ValueError("\\u00e9" * 65536)') });
    for (let i = 0; i < 5; i++) assert.equal((await fetch(`${h.url}/fn/keeper.${keepers}/`)).status, 200);
    assert.equal(await runsOf(victim, 'keeper'), 5);
    for (let i = 0; i < 12; i++) assert.equal((await fetch(`${h.url}/fn/filler.${fillers}/`)).status, 500);
    const filled = await attacker.call('GET', '/runs?function=filler&limit=1');
    const error = (filled.body as { items: { error: { message: string } | null }[] }).items[0]?.error;
    assert.ok((error?.message.length ?? 0) >= 60_000, 'the attacker\'s records hold their long errors');
    // The size check runs every 500 ms here (FP_RUN_STORE_CHECK_MS, 10 s by default): wait for
    // the one that pruned, seen as the attacker's own runs going, not for two default intervals.
    await until('a size check pruned the attacker\'s runs', async () => (await runsOf(attacker, 'filler')) < 12, 30_000);
    assert.equal(await runsOf(victim, 'keeper'), 5, 'the attacker\'s records pushed the victim\'s runs out of the store');
  });
});
