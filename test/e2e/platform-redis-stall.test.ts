/**
 * Chaos round 7: Redis stalled (SIGSTOP, then SIGCONT) under a production platform taking async
 * calls. While it is stopped every async call is answered within a few seconds, 202 or 503
 * `ASYNC_QUEUE_UNAVAILABLE` with Retry-After (no call waits for Redis to come back); after it
 * continues, every run answered 202 ends `succeeded`, and none answered 503 runs.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Api, deployed, fnName, py, sleep } from './platform-harness.js';
import { clusterOptions, productionSkip, startNode, useServers } from './production-harness.js';

/** Three times the lease, past the client's reconnect backoff (a 30 s stall, run by hand, answered the same). */
const STALL_MS = 12_000;

/** The run once final (its view as JSON for the message when it is not `succeeded`). */
async function finalState(api: Api, runId: string, timeoutMs: number): Promise<string> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const res = await api.call('GET', `/runs/${runId}`);
    if (res.status === 200 && ['succeeded', 'failed', 'cancelled'].includes(res.body.run.state)) return res.body.run.state === 'succeeded' ? 'succeeded' : JSON.stringify(res.body.run);
    if (Date.now() > deadline) throw new Error(`run ${runId} still ${res.status} ${JSON.stringify(res.body)}`);
    await sleep(100);
  }
}

describe('Redis stopped (SIGSTOP) under async calls', { skip: productionSkip, timeout: 180_000 }, () => {
  const servers = useServers();

  it('answers each call in bounded time with 202 or a stable 503, and every 202 run succeeds once Redis continues', async () => {
    const node = await startNode({ ...clusterOptions(servers), dispatchLeaseMs: 4000 });
    const echo = fnName('stall');
    await deployed(node.api, echo, { 'main.py': py('import time', 'def handler(event, context):', '    time.sleep(0.5)', '    return {"body": event["body"].decode()}') });
    const accepted: string[] = [];
    const answers: string[] = [];
    const fire = async (tag: string): Promise<void> => {
      const t0 = Date.now();
      const res = await fetch(`${node.url}/async/${echo}/`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ tag }) });
      const body = (await res.json()) as { runId?: string; error?: { code: string } };
      const ms = Date.now() - t0;
      answers.push(`${tag} ${res.status} ${body.error?.code ?? ''} ra=${res.headers.get('retry-after')} ${ms}ms`);
      if (res.status === 202) accepted.push(body.runId!);
      else {
        assert.equal(res.status, 503, JSON.stringify(body));
        assert.equal(body.error?.code, 'ASYNC_QUEUE_UNAVAILABLE');
        assert.ok(res.headers.get('retry-after') !== null);
      }
      assert.ok(ms < 8000, `an async call waited ${ms} ms for a stopped Redis`);
    };
    for (let i = 0; i < 3; i++) await fire(`before${i}`);
    process.kill(servers.redis.pid, 'SIGSTOP');
    const end = Date.now() + STALL_MS;
    try {
      for (let i = 0; Date.now() < end; i++) {
        await fire(`during${i}`);
        await sleep(1000);
      }
    } finally {
      process.kill(servers.redis.pid, 'SIGCONT');
    }
    const during = answers.filter((a) => a.startsWith('during'));
    assert.ok(during.length >= 5 && during.every((a) => / 503 /.test(a)), `while Redis was stopped: ${during.join('; ')}`);
    // Back with no manual step: calls are taken again once the client reconnected.
    for (let i = 0; accepted.length < 4; i++) {
      assert.ok(i < 30, `no async call taken 15 s after Redis continued: ${answers.slice(-3).join('; ')}`);
      await fire(`after${i}`);
      if (accepted.length < 4) await sleep(500);
    }
    for (const id of accepted) assert.equal(await finalState(node.api, id, 60_000), 'succeeded', id);
    // None of the refused calls ran: the function's runs are the four accepted ones (their records
    // reach the store within the sink's second; a refused one queued late would have run by now).
    let listed: string[] = [];
    for (let i = 0; i < 30 && listed.length < accepted.length; i++, await sleep(100)) {
      listed = ((await node.api.call('GET', `/runs?function=${echo}&limit=200`)).body.items as { runId: string }[]).map((r) => r.runId);
    }
    await sleep(1500);
    listed = ((await node.api.call('GET', `/runs?function=${echo}&limit=200`)).body.items as { runId: string }[]).map((r) => r.runId);
    assert.deepEqual(listed.sort(), [...accepted].sort(), answers.join('; '));
    // Nor did a refused call leave half an acceptance behind (an index row with no job: queued for ever).
    for (const status of ['queued', 'running', 'retried']) {
      const open = await node.api.call('GET', `/runs?function=${echo}&status=${status}`);
      assert.equal(open.status, 200, JSON.stringify(open.body));
      assert.deepEqual(open.body.items, [], `${status}: ${JSON.stringify(open.body.items)}`);
    }
  });
});
