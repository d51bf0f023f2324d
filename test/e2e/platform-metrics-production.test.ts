/**
 * /metrics of two platform processes on one Redis + FerretDB (issue 9): the queue gauges come
 * from the shared Redis queue (both processes report the same depth and age), each cron tick is
 * fired by one process and skipped_locked by the other, and the run sink counts its writes to
 * MongoDB and Redis. Strict exposition on both.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { scrape, sumOf, valueOf, type Exposition } from '../helpers/prom-text.js';
import { assertPlatformFamilies, eventually, fireAsync, settled } from './metrics-harness.js';
import { createFunction, deploy, deployed, filesOf, fnName, py, sleep } from './platform-harness.js';
import { clusterOptions, productionSkip, startNode, useServers, type Node } from './production-harness.js';

const OK = { 'main.py': py('def handler(event, context):', '    return {"ok": True}') };
const SLOW = { 'main.py': py('import time', 'def handler(event, context):', '    time.sleep(2)', '    return "slept"') };

describe('platform /metrics (production stores, two processes)', { skip: productionSkip, timeout: 120_000 }, () => {
  const servers = useServers();
  let a: Node;
  let b: Node;
  before(async () => {
    // One dispatcher worker each: two slow runs hold both, so the next run waits in Redis.
    const options = { ...clusterOptions(servers), poolSize: 2, dispatchConcurrency: 1 };
    a = await startNode(options);
    b = await startNode(options, a.api.token);
  });
  after(async () => {
    await b?.close();
    await a?.close();
  });
  const both = (): Promise<[Exposition, Exposition]> => Promise.all([scrape(a.url, a.api.token), scrape(b.url, b.api.token)]);

  it('queue depth and age come from the Redis queue, the same on both processes', async () => {
    const slow = fnName('slow');
    const waiting = fnName('waiting');
    await deployed(a.api, slow, SLOW);
    await deployed(a.api, waiting, OK);
    const slowRuns = [await fireAsync(a.url, slow), await fireAsync(a.url, slow)];
    await eventually(() => scrape(a.url, a.api.token), (m) => assert.equal(valueOf(m, 'fp_async_queue_depth', { function: slow, state: 'leased' }), 2));
    const firedAt = performance.now();
    const queued = await fireAsync(a.url, waiting);
    await sleep(300); // time for the run to age: the figure below must show it
    const [ma, mb] = await both();
    for (const m of [ma, mb]) {
      assertPlatformFamilies(m);
      assert.equal(valueOf(m, 'fp_async_queue_depth', { function: waiting, state: 'ready' }), 1);
      assert.equal(valueOf(m, 'fp_async_queue_depth', { function: slow, state: 'leased' }), 2);
      const age = valueOf(m, 'fp_async_queue_oldest_age_seconds', { function: waiting })!;
      // In seconds: at least the wait above, at most the time since the run was sent.
      assert.ok(age >= 0.25 && age <= (performance.now() - firedAt) / 1000, `age ${age}`);
    }
    assert.equal((await a.api.call('POST', `/runs/${queued}/cancel`)).status, 200);
    const [ca, cb] = await both();
    assert.equal(valueOf(ca, 'fp_async_runs_cancelled_total', { function: waiting }), 1, 'counted where the API call was served');
    assert.equal(valueOf(cb, 'fp_async_runs_cancelled_total', { function: waiting }), undefined);
    for (const m of [ca, cb]) assert.equal(sumOf(m, 'fp_async_queue_depth', { function: waiting }), 0);
    for (const runId of slowRuns) assert.equal(await settled(a.api, runId), 'succeeded');
    const [da, db] = await both();
    // Each process ran one of the slow runs, through its own dispatcher.
    assert.equal(valueOf(da, 'fp_async_attempts_total', { function: slow, outcome: 'succeeded' }), 1);
    assert.equal(valueOf(db, 'fp_async_attempts_total', { function: slow, outcome: 'succeeded' }), 1);
    assert.equal(sumOf(da, 'fp_async_queue_depth', { function: slow }), 0);
  });

  it('cron: every tick is fired by one process; the other counts it skipped_locked', async () => {
    const name = fnName('cron');
    await createFunction(a.api, name);
    const up = await a.api.call('POST', `/functions/${name}/versions`, {
      files: filesOf(OK),
      manifest: { kind: 'function', name, triggers: [{ type: 'cron', id: 'each-second', schedule: '* * * * * *' }] },
    });
    assert.equal(up.status, 201, JSON.stringify(up.body));
    await deploy(a.api, name);
    const ticks = (m: Exposition, outcome: string): number => valueOf(m, 'fp_cron_ticks_total', { function: name, outcome }) ?? 0;
    await eventually(both, ([ma, mb]) => assert.ok(ticks(ma, 'skipped_locked') + ticks(mb, 'skipped_locked') >= 2), 15_000);
    // A version without the trigger stops the schedule (on both, through the config bus) and
    // leaves the function active, so every tick queued so far runs (a pause would fail them).
    const next = await b.api.call('POST', `/functions/${name}/versions`, { files: filesOf(OK), manifest: { kind: 'function', name } });
    assert.equal(next.status, 201, JSON.stringify(next.body));
    await deploy(b.api, name);
    await sleep(1500);
    const [ma, mb] = await both();
    const fired = ticks(ma, 'fired') + ticks(mb, 'fired');
    const locked = ticks(ma, 'skipped_locked') + ticks(mb, 'skipped_locked');
    assert.ok(fired >= 2 && locked <= fired, `fired ${fired}, skipped_locked ${locked}`);
    for (const m of [ma, mb]) for (const outcome of ['failed_lock', 'failed_enqueue', 'skipped_late']) assert.equal(ticks(m, outcome), 0, outcome);
    // The metric agrees with what ran: one cron run per fired tick.
    const runs = await eventually(() => a.api.call('GET', `/runs?function=${name}`), (res) => {
      assert.equal((res.body.items as { trigger: string }[]).filter((r) => r.trigger === 'cron').length, fired);
    });
    assert.equal(runs.status, 200);
  });

  it('run sink: records flushed to MongoDB and samples to Redis, per destination', async () => {
    const name = fnName('sync');
    await deployed(a.api, name, OK);
    const before = await scrape(a.url, a.api.token);
    const flushed = (m: Exposition, target: string): number => valueOf(m, 'fp_run_sink_flushed_records_total', { target }) ?? 0;
    for (let i = 0; i < 5; i++) assert.equal((await fetch(`${a.url}/fn/${name}/`)).status, 200);
    const m = await eventually(() => scrape(a.url, a.api.token), (x) => {
      assert.ok(flushed(x, 'runs') >= flushed(before, 'runs') + 5);
      assert.ok(flushed(x, 'metrics') >= flushed(before, 'metrics') + 5);
      assert.equal(valueOf(x, 'fp_run_sink_buffered_records', { target: 'runs' }), 0);
    });
    assert.ok(valueOf(m, 'fp_run_sink_flush_duration_seconds_count', { target: 'runs', result: 'ok' })! >= 1);
    assert.equal(sumOf(m, 'fp_run_sink_flush_duration_seconds_count', { result: 'error' }), 0);
  });

  it('a function deleted on one process loses its series on both: created again, it counts from zero (red team 6)', async () => {
    const fn = fnName('again');
    await deployed(a.api, fn, OK);
    const call = (url: string): Promise<number> => fetch(`${url}/fn/${fn}/`).then(async (r) => (await r.text(), r.status));
    assert.equal(await call(a.url), 200);
    await eventually(() => call(b.url), (status) => assert.equal(status, 200)); // b learns of it over the bus
    await eventually(() => scrape(b.url, b.api.token), (m) => assert.equal(sumOf(m, 'fp_invocations_total', { function: fn }), 1));
    assert.equal((await a.api.call('DELETE', `/functions/${fn}`)).status, 204);
    // Before: both processes kept the deleted function's counters until they restarted.
    for (const node of [a, b]) {
      await eventually(() => scrape(node.url, node.api.token), (m) => assert.equal(sumOf(m, 'fp_invocations_total', { function: fn }), 0));
    }
    await deployed(a.api, fn, OK);
    await eventually(() => call(b.url), (status) => assert.equal(status, 200));
    const mb = await scrape(b.url, b.api.token);
    assert.equal(sumOf(mb, 'fp_invocations_total', { function: fn }), 1);
  });
});
