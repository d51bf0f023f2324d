/**
 * A function's delete whose store cleanup fails after the function is gone (soak round, finding 1;
 * docs/adr/0156-a-delete-finishes-after-a-fault.md), on a production platform pair with real
 * Redis and FerretDB. FerretDB is killed right after the delete's tombstone is written (the store's
 * test hook for that point), so every cleanup step after it fails for real. Before the fix: the
 * DELETE answered 500 before anything in the process ran, `/fn/<name>/` kept answering 200 on both
 * processes, and a second DELETE answered 404, so nothing ever finished the cleanup.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { deployed, fnName, handlerReturning, sleep } from './platform-harness.js';
import { clusterOptions, productionSkip, startNode, useServers, type Node } from './production-harness.js';

/** Polls `url` until it answers `status` (order, not time: the bound is generous). */
async function answers(url: string, status: number, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const res = await fetch(url);
    await res.arrayBuffer();
    if (res.status === status) return;
    if (Date.now() > deadline) throw new Error(`${url} still answers ${res.status}, not ${status}`);
    await sleep(100);
  }
}

describe('a production delete that fails after the function is gone', { skip: productionSkip, timeout: 180_000 }, () => {
  const servers = useServers();
  const faultFor = new Set<string>();
  let a: Node;
  let b: Node;
  let options: ReturnType<typeof clusterOptions>;
  before(async () => {
    options = clusterOptions(servers);
    a = await startNode({ ...options, storeTestHooks: { afterTombstone: async (name) => { if (faultFor.delete(name)) await servers.ferret.stop('SIGKILL'); } } });
    b = await startNode(options, a.api.token);
  });
  after(async () => {
    await b?.close();
    await a?.close();
  });

  it('stops serving at once on every process; a second DELETE finishes the cleanup; the name comes back clean', async () => {
    const name = fnName();
    await deployed(a.api, name, handlerReturning('old'), { invocation: 'both' });
    await answers(`${a.url}/fn/${name}/`, 200);
    await answers(`${b.url}/fn/${name}/`, 200);
    const before = (await a.api.call('GET', '/workspaces/default')).body;

    faultFor.add(name);
    const deleted = await a.api.call('DELETE', `/functions/${name}`);
    // At once on this process, with FerretDB still down: no retry, no wait.
    const call = await fetch(`${a.url}/fn/${name}/`);
    await call.arrayBuffer();
    assert.equal(call.status, 404);
    const queued = await fetch(`${a.url}/async/${name}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' });
    await queued.arrayBuffer();
    assert.equal(queued.status, 404, 'nothing is queued for a deleted function');
    // The function is gone: that is what the DELETE says; the operator's log says what is pending.
    assert.equal(deleted.status, 204, JSON.stringify(deleted.body));
    assert.ok(a.logs.some((l) => l.includes(`function ${name} is deleted, but the removal of its data failed`)), a.logs.join('\n'));

    // The other process was told (the bus, `gone`) and stops too, FerretDB still down (no store read needed).
    await answers(`${b.url}/fn/${name}/`, 404);
    await servers.ferret.start();
    assert.equal((await a.api.call('GET', `/functions/${name}`)).status, 404);
    assert.ok(!((await a.api.call('GET', '/functions')).body.items as { name: string }[]).some((f) => f.name === name));

    // The cleanup is pending: a second DELETE finishes it (204), a third has nothing left (404).
    assert.equal((await a.api.call('DELETE', `/functions/${name}`)).status, 204);
    assert.equal((await a.api.call('DELETE', `/functions/${name}`)).status, 404);
    const after = (await a.api.call('GET', '/workspaces/default')).body;
    assert.equal(after.usage.functions.used, before.usage.functions.used - 1, JSON.stringify({ before: before.usage, after: after.usage }));

    // The name again: a new function, its first version is 1 and serves.
    await deployed(a.api, name, handlerReturning('new'));
    const res = await fetch(`${a.url}/fn/${name}/`);
    assert.deepEqual(await res.json(), { value: 'new', version: '1' });
  });

  it('a platform process that starts finishes the deletes left pending (its sweep)', async () => {
    const name = fnName();
    await deployed(a.api, name, handlerReturning('old'));
    const before = (await a.api.call('GET', '/workspaces/default')).body;
    faultFor.add(name);
    assert.equal((await a.api.call('DELETE', `/functions/${name}`)).status, 204);
    await servers.ferret.start();
    const c = await startNode(options, a.api.token);
    try {
      const deadline = Date.now() + 30_000;
      while (!c.logs.some((l) => l.includes('finished the cleanup of 1 deleted function'))) {
        if (Date.now() > deadline) throw new Error(`no sweep: ${c.logs.join('\n')}`);
        await sleep(100);
      }
      const after = (await a.api.call('GET', '/workspaces/default')).body;
      assert.equal(after.usage.functions.used, before.usage.functions.used - 1);
      assert.equal((await a.api.call('DELETE', `/functions/${name}`)).status, 404, 'nothing left to finish');
    } finally {
      await c.close();
    }
  });
});
