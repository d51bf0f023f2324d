/**
 * Cron across two platform processes on one Redis + FerretDB (issue 5): both schedule the same
 * per-second trigger, the Redis tick lock lets exactly one of them queue each tick.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { countByTick, queueDrained, startTickSink, untilTicks, uploadCron, type TickSink } from './cron-harness.js';
import { deploy, fnName, sleep } from './platform-harness.js';
import { clusterOptions, productionSkip, startNode, useServers, type Node } from './production-harness.js';

describe('cron on two platform processes (production stores)', { skip: productionSkip, timeout: 90_000 }, () => {
  const servers = useServers();
  let a: Node;
  let b: Node;
  let sink: TickSink;
  before(async () => {
    sink = await startTickSink();
    const options = clusterOptions(servers);
    a = await startNode(options);
    b = await startNode(options, a.api.token);
  });
  after(async () => {
    await b?.close();
    await a?.close();
    await sink?.close();
  });

  it('a per-second schedule fires exactly once per tick across both', async () => {
    const name = fnName('cron');
    const up = await uploadCron(a.api, name, sink, [{ type: 'cron', id: 'every-second', schedule: '* * * * * *' }]);
    assert.equal(up.status, 201, JSON.stringify(up.body));
    await deploy(a.api, name);
    await untilTicks(sink, 2);
    // Stop scheduling (both processes), then let the ticks already queued finish.
    assert.equal((await b.api.call('POST', `/functions/${name}/pause`, {})).status, 200);
    await queueDrained(a.api, name);
    const counts = countByTick(sink);
    assert.ok(counts.size >= 2, `ticks: ${JSON.stringify([...counts])} logs: ${[...a.logs, ...b.logs].join('\n')}`);
    for (const [tick, n] of counts) assert.equal(n, 1, `tick ${tick} ran ${n} times`);
    // One run record per tick run, written by whichever process ran it, in batches: wait for them.
    const expected = [...counts.values()].reduce((x, y) => x + y, 0);
    const cronRuns = async (): Promise<number> => {
      const runs = await a.api.call('GET', `/runs?function=${name}`);
      assert.equal(runs.status, 200, JSON.stringify(runs.body));
      return (runs.body.items as { trigger: string }[]).filter((r) => r.trigger === 'cron').length;
    };
    let seen = await cronRuns();
    for (const deadline = Date.now() + 15_000; seen < expected && Date.now() < deadline; seen = await cronRuns()) await sleep(50);
    assert.equal(seen, expected);
  });
});
