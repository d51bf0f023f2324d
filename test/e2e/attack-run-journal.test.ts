/**
 * Red team round 42: the run journal (ADR 0220) against one tenant's flood. Its cap
 * (`FP_RUN_JOURNAL_MAX_BYTES`) was shared first come, first served: through a MongoDB outage a
 * workspace's function failing in a loop (failed runs are always kept in full, with their logs)
 * filled it, every other workspace's records were from then on held in memory only, and a SIGKILL
 * lost them though the journal was there for exactly that. Now one workspace's records take at
 * most half of it.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { started, startMain } from './main-harness.js';
import { Api, deployed, newTenant, py, sleep, type PlatformHarness } from './platform-harness.js';
import { clusterOptions, productionSkip, useServers } from './production-harness.js';

describe('attack: one tenant fills the run journal through a MongoDB outage', { timeout: 120_000, skip: productionSkip }, () => {
  const servers = useServers();
  const stateDir = mkdtempSync(join(tmpdir(), 'fp-attack-journal-'));
  after(() => rmSync(stateDir, { recursive: true, force: true }));

  it("another workspace's runs of the outage are listed after a crash: the flood took half the journal at most", async () => {
    const o = clusterOptions(servers);
    const env = { FP_STORE: 'production', FP_REDIS_URL: o.redisUrl!, FP_MONGO_URL: o.mongoUrl!, FP_MONGO_DB: o.mongoDatabase!, FP_REDIS_PREFIX: o.redisPrefix!, FP_RUN_JOURNAL_MAX_BYTES: String(256 * 1024) };
    const first = startMain(['--state-dir', stateDir, '--port', '0'], env);
    const { url, token } = await started(first);
    const admin = new Api(url, token!);
    const { name: victimWs, api: victim } = await newTenant({ api: admin, url } as unknown as PlatformHarness);
    const { name: attackerWs, api: attacker } = await newTenant({ api: admin, url } as unknown as PlatformHarness);
    await deployed(victim, 'orders', { 'main.py': py('def handler(event, context):', '    print("order", "o" * 2000)', '    return {"ok": True}') });
    await deployed(attacker, 'flood', { 'main.py': py('def handler(event, context):', '    if event["query"].get("big"):', '        print("x" * 4000)', '        raise ValueError("y" * 2000)', '    raise ValueError()') });
    await servers.ferret.stop('SIGKILL');
    // ~8 KB a failed record (its line, message and traceback): 40 of them are past the cap; then
    // small ones (~1 KB), to the last kilobyte of it.
    for (let i = 0; i < 40; i++) assert.equal((await fetch(`${url}/fn/flood.${attackerWs}/?big=1`)).status, 500);
    for (let i = 0; i < 30; i++) assert.equal((await fetch(`${url}/fn/flood.${attackerWs}/`)).status, 500);
    const ids: string[] = [];
    for (let i = 0; i < 3; i++) {
      const res = await fetch(`${url}/fn/orders.${victimWs}/?i=${i}`);
      assert.equal(res.status, 200);
      ids.push(res.headers.get('x-run-id') ?? '');
    }
    await sleep(1500); // the journal's turn, and past the sink's second: its writes fail and are retried
    first.child.kill('SIGKILL');
    const dead = await first.exited;
    await servers.ferret.start();

    const second = startMain(['--state-dir', stateDir, '--port', '0'], env);
    const again = await started(second);
    const listed = async (): Promise<string[]> => {
      const res = await new Api(again.url, victim.token).call('GET', '/runs?function=orders');
      assert.equal(res.status, 200, JSON.stringify(res.body));
      return (res.body.items as { runId: string }[]).map((r) => r.runId).sort();
    };
    let runs: string[] = [];
    for (let i = 0; i < 50 && runs.length < ids.length; i++) {
      runs = await listed();
      if (runs.length < ids.length) await sleep(100);
    }
    // Before: [] (the flood had filled the journal; the victim's records died with the process).
    assert.deepEqual(runs, ids.sort());
    assert.match(dead.stdout + dead.stderr, /RUN_JOURNAL_FULL.*workspace "red-/, 'the flood past its share is told, naming its workspace');
    second.child.kill('SIGTERM');
    assert.equal((await second.exited).code, 0);
  });
});
