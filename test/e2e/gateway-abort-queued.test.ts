/**
 * A client that goes away while its call waits in the queue (the request's own disconnect, not an
 * AbortController: gateway/uws-adapter.ts): the call leaves the queue at once, never runs, and its
 * run record says CLIENT_CLOSED_REQUEST; the calls ahead of it are not disturbed.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { eventually, fnName, py, useGateway } from './gateway-harness.js';

const SLOW = fnName('slow');

// One instance, one call at a time, nothing pipelined: the second call waits in the queue.
const h = useGateway({
  [SLOW]: {
    files: { 'main.py': py('import time', 'def handler(event, context):', '    time.sleep(float(event["query"].get("s", "0")))', '    return event["query"].get("tag", "")') },
    manifest: 'limits:\n  maxInstances: 1\n  concurrency: 1\n',
  },
}, {}, { pipelineDepth: 0 });


const stat = (key: 'busy' | 'queued'): number =>
  Object.values(h.pool.stats().functions).filter((f) => f.name === SLOW).reduce((n, f) => n + f[key], 0);

describe('a client that goes away while its call is queued', () => {
  it('takes the call out of the queue; it never runs and its record says CLIENT_CLOSED_REQUEST', async () => {
    const first = fetch(`${h.url}/fn/${SLOW}/?s=1.5&tag=first`);
    await eventually(() => stat('busy'), (n) => n === 1);
    const controller = new AbortController();
    const queued = fetch(`${h.url}/fn/${SLOW}/?tag=queued`, { signal: controller.signal });
    await eventually(() => stat('queued'), (n) => n === 1);
    controller.abort();
    await assert.rejects(queued, { name: 'AbortError' });
    // Out of the queue while the first call still runs (it sleeps 1.5 s).
    await eventually(() => stat('queued'), (n) => n === 0);
    assert.equal(stat('busy'), 1);

    const res = await first;
    assert.equal(res.status, 200);
    assert.equal(await res.json(), 'first');
    const records = await eventually(() => h.runs.list().filter((r) => r.function === SLOW), (runs) => runs.length === 2);
    const dropped = records.find((r) => r.errorCode === 'CLIENT_CLOSED_REQUEST');
    assert.ok(dropped, JSON.stringify(records));
    assert.equal(dropped.clientAborted, true);
    assert.equal(dropped.handlerMs, 0);
    const after = await fetch(`${h.url}/fn/${SLOW}/?tag=next`);
    assert.equal(await after.json(), 'next');
  });
});
