/**
 * Run sampling through the platform (issue 11; docs/stores.md, "Retention"): with
 * runKeepPerMinute 2 and runSampleOneIn 0, only the first two successful warm HTTP calls of the
 * minute keep a record, a failing call keeps its record anyway, and the usage API counts every call.
 */
import assert from 'node:assert/strict';
import { it } from 'node:test';
import { deployed, fnName, py, runsWritten, usePlatform } from './platform-harness.js';
import { usageWhen } from './usage-harness.js';

const h = usePlatform({ runKeepPerMinute: 2, runSampleOneIn: 0 });

it('keeps full records for the minute\'s budget and for failures, and counts every call', async () => {
  const name = fnName('sampled');
  await deployed(h.api, name, { 'main.py': py('def handler(event, context):', '    if event["path"] == "/fail":', '        raise ValueError("no")', '    return {"ok": True}') });
  // The first call is a cold start (always kept); the warm ones are what the budget is about.
  const ids: string[] = [];
  for (let i = 0; i < 6; i++) {
    const res = await fetch(`${h.url}/fn/${name}/`);
    await res.arrayBuffer();
    assert.equal(res.status, 200);
    if (res.headers.get('x-cold-start') !== '1') ids.push(res.headers.get('x-run-id')!);
  }
  const failed = await fetch(`${h.url}/fn/${name}/fail`);
  await failed.arrayBuffer();
  assert.equal(failed.status, 500);
  await runsWritten(h.url);
  const kept = await Promise.all(ids.map(async (id) => (await h.api.call('GET', `/runs/${id}`)).status));
  // Warm calls: the minute's budget of 2 (unless the minute turned during the loop: then up to 4).
  const keptCount = kept.filter((s) => s === 200).length;
  assert.ok(keptCount >= 2 && keptCount <= 4, `kept ${keptCount} of ${ids.length} warm calls`);
  assert.ok(kept.every((s) => s === 200 || s === 404), JSON.stringify(kept));
  assert.equal((await h.api.call('GET', `/runs/${failed.headers.get('x-run-id')}`)).status, 200, 'a failed run is always kept');
  // Counted: all 7 calls, none twice; the ones without a record are counted as sampled out.
  const usage = await usageWhen(h.api, name, (u) => u.totals.invocations >= 7, '1h');
  assert.equal(usage.totals.invocations, 7);
  const metrics = await (await fetch(`${h.url}/metrics`)).text();
  const sampledOut = Number(/^fp_run_records_sampled_out_total (\d+)/m.exec(metrics)?.[1]);
  assert.equal(sampledOut, ids.length - keptCount);
});
