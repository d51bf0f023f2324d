/**
 * Races between two platform processes (a production pair on real Redis and FerretDB;
 * docs/adr/0159-a-precondition-per-setting.md, "Races"), ordered by the store's test hooks.
 *
 * A DELETE racing a create of the same name in another process: process A's delete is
 * held right after its tombstone (the store's test hook); process B creates the name again with
 * `auth: token`, deploys it and serves it; then A's delete goes on and tells every process the name
 * is `gone`. B drops what it holds of the name, reads the store and loads the new function back,
 * but its invoke tokens stayed dropped: the new function answered 401 to its own token on B until
 * some other token change. Ordered by the hook and by a marker change A publishes after its
 * `gone` (the bus keeps one publisher's order), not by timing.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { MongoClient } from 'mongodb';
import { createFunction, deploy, deployed, fnName, handlerReturning, sleep, upload } from './platform-harness.js';
import { clusterOptions, productionSkip, startNode, useServers, type Node } from './production-harness.js';

/** Polls until `check` holds (order, not time: the bound is generous). */
async function until(what: string, check: () => Promise<boolean>, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`never: ${what}`);
    await sleep(100);
  }
}

async function status(url: string, token?: string): Promise<{ status: number; body: string }> {
  const res = await fetch(url, token === undefined ? {} : { headers: { authorization: `Bearer ${token}` } });
  return { status: res.status, body: await res.text() };
}

describe('a DELETE racing a create of the same name in another process', { skip: productionSkip, timeout: 180_000 }, () => {
  const servers = useServers();
  /** Hook point and name → the gate process A waits at there (once). */
  const held = new Map<string, { reached: () => void; go: Promise<void> }>();
  const at = async (point: string): Promise<void> => {
    const h = held.get(point);
    if (h === undefined) return;
    held.delete(point);
    h.reached();
    await h.go;
  };
  /** Holds process A at `point` once; `reached` resolves when it is there, `go` lets it on. */
  const hold = (point: string): { reached: Promise<void>; go: () => void } => {
    let reached!: () => void;
    let go!: () => void;
    const arrived = new Promise<void>((resolve) => (reached = resolve));
    held.set(point, { reached, go: new Promise<void>((resolve) => (go = resolve)) });
    return { reached: arrived, go };
  };
  let a: Node;
  let b: Node;
  let options: ReturnType<typeof clusterOptions>;
  before(async () => {
    options = clusterOptions(servers);
    a = await startNode({ ...options, storeTestHooks: { afterTombstone: (name) => at(`tombstone:${name}`), beforeUpdateWrite: (name) => at(`update:${name}`) } });
    b = await startNode(options, a.api.token);
  });
  after(async () => {
    await b?.close();
    await a?.close();
  });

  it('the function created again serves its own token on both processes after the earlier delete finishes; the old one serves nowhere', async () => {
    const name = fnName('again');
    const marker = fnName('marker');
    await deployed(a.api, name, handlerReturning('old'));
    await deployed(a.api, marker, handlerReturning('marker'));
    await until('B serves the old function', async () => (await status(`${b.url}/fn/${name}/`)).status === 200);
    await until('B serves the marker', async () => (await status(`${b.url}/fn/${marker}/`)).status === 200);

    // A's delete, held right after its tombstone.
    const { reached, go } = hold(`tombstone:${name}`);
    const deleting = a.api.call('DELETE', `/functions/${name}`);
    await reached;

    // B creates the name again (token auth), deploys it and serves it with its token.
    const created = await createFunction(b.api, name, { auth: 'token' });
    const token = created.invokeToken as string;
    await upload(b.api, name, handlerReturning('new'));
    await deploy(b.api, name);
    await until('B serves the new function with its token', async () => (await status(`${b.url}/fn/${name}/`, token)).status === 200);

    // A's delete goes on and says `gone`; then A pauses the marker: B applies both in that order.
    go();
    assert.equal((await deleting).status, 204);
    assert.equal((await a.api.call('POST', `/functions/${marker}/pause`, {})).status, 200);
    await until('B applied the marker change (so the gone before it)', async () => (await status(`${b.url}/fn/${marker}/`)).status !== 200);

    for (const node of [b, a]) {
      const res = await status(`${node.url}/fn/${name}/`, token);
      assert.equal(res.status, 200, `${node === a ? 'A' : 'B'}: ${res.body}`);
      assert.equal(JSON.parse(res.body).value, 'new');
      assert.equal((await status(`${node.url}/fn/${name}/`)).status, 401, 'no token: refused (token auth)');
    }
    assert.equal((await b.api.call('GET', `/functions/${name}`)).body.function.auth, 'token');
  });

  // ADR 0181's window at the API: A checked `ifNoVersions` (none), then B's upload wrote its version
  // and read the function back before A's tombstone. The version is put in the store here while A
  // is held at its tombstone (B's whole upload cannot be held there: it would see the tombstone).
  it('a DELETE ifNoVersions whose store finds a version after its tombstone: 409 FUNCTION_CHANGED, and the function and its version stay on both processes', async () => {
    const name = fnName('undo');
    const donor = fnName('donor');
    await createFunction(a.api, name, { env: { KEPT: '1' } });
    await deployed(a.api, donor, handlerReturning('donor'));
    const { reached, go } = hold(`tombstone:${name}`);
    const deleting = a.api.call('DELETE', `/functions/${name}?ifRevision=1&ifNoVersions=true`);
    await reached;
    const client = new MongoClient(options.mongoUrl!);
    try {
      const db = client.db(options.mongoDatabase);
      const tombstone = await db.collection('functions').find({ name }).sort({ seq: -1 }).limit(1).next();
      assert.equal(tombstone?.deleted, true);
      const versions = db.collection<{ _id: string; function: string; gen?: number }>('versions');
      const version = await versions.findOne({ function: donor });
      await versions.insertOne({ ...version!, _id: `${name}/1`, function: name, gen: tombstone!.base as number });
    } finally {
      await client.close();
    }
    go();
    const answer = await deleting;
    assert.equal(answer.status, 409, JSON.stringify(answer.body));
    assert.deepEqual([answer.body.error.code, answer.body.error.hasVersions, answer.body.error.revision], ['FUNCTION_CHANGED', true, 3]);
    for (const node of [a, b]) {
      const fn = await node.api.call('GET', `/functions/${name}`);
      assert.equal(fn.status, 200, JSON.stringify(fn.body));
      assert.deepEqual([fn.body.function.revision, fn.body.function.env], [3, { KEPT: '1' }]);
      assert.deepEqual((await node.api.call('GET', `/functions/${name}/versions`)).body.items.map((v: { version: number }) => v.version), [1]);
    }
    assert.equal((await a.api.call('DELETE', `/functions/${name}?ifRevision=3`)).status, 204, 'deleted as read now');
  });

  it('env values set by name in two processes at once: both kept; the one whose write lost the race is applied again, not refused', async () => {
    const name = fnName('both');
    await createFunction(a.api, name, { env: { A: '1' } });
    const { reached, go } = hold(`update:${name}`);
    // A has read the function and is about to write; B changes it meanwhile.
    const first = a.api.call('PATCH', `/functions/${name}`, { envChanges: { FROM_A: 'a' } });
    await reached;
    assert.equal((await b.api.call('PATCH', `/functions/${name}`, { envChanges: { FROM_B: 'b' } })).status, 200);
    go();
    const answer = await first;
    assert.equal(answer.status, 200, JSON.stringify(answer.body));
    assert.deepEqual((await b.api.call('GET', `/functions/${name}`)).body.function.env, { A: '1', FROM_A: 'a', FROM_B: 'b' });
    // A whole env written from a read older than B's change is still refused when it says so (ifMatch).
    const seen = (await a.api.call('GET', `/functions/${name}`)).body.function.settingTags.env as string;
    const again = hold(`update:${name}`);
    const stale = a.api.call('PATCH', `/functions/${name}`, { env: { ONLY: '1' }, ifMatch: { env: seen } });
    await again.reached;
    assert.equal((await b.api.call('PATCH', `/functions/${name}`, { envChanges: { LATE: 'b' } })).status, 200);
    again.go();
    const refused = await stale;
    assert.equal(refused.status, 409);
    assert.equal(refused.body.error.code, 'SETTING_CONFLICT', 'checked again on the new state: not REVISION_CONFLICT, with the current value');
    assert.deepEqual(refused.body.error.current.env, { A: '1', FROM_A: 'a', FROM_B: 'b', LATE: 'b' });
  });

  it("a deploy naming its version whose write lost to another process's settings change is made again, not refused; a rollback to 'the one before' is refused", async () => {
    const name = fnName('deployrace');
    await deployed(a.api, name, handlerReturning('one'));
    await upload(a.api, name, handlerReturning('two'));
    // A has read the function and checked version 2; B changes the env before A writes.
    const { reached, go } = hold(`update:${name}`);
    const deploying = a.api.call('POST', `/functions/${name}/deploy`, { version: 2 });
    await reached;
    assert.equal((await b.api.call('PATCH', `/functions/${name}`, { envChanges: { FROM_B: 'b' } })).status, 200);
    go();
    const answer = await deploying;
    assert.equal(answer.status, 200, JSON.stringify(answer.body));
    const fn = (await b.api.call('GET', `/functions/${name}`)).body.function;
    assert.equal(fn.activeVersion, 2);
    assert.deepEqual(fn.env, { FROM_B: 'b' });
    // A rollback to the version before the active one, from a read another process's deploy made stale: one winner.
    await upload(a.api, name, handlerReturning('three'));
    const back = hold(`update:${name}`);
    const rolling = a.api.call('POST', `/functions/${name}/rollback`, {});
    await back.reached;
    assert.equal((await b.api.call('POST', `/functions/${name}/deploy`, { version: 3 })).status, 200);
    back.go();
    const refused = await rolling;
    assert.equal(refused.status, 409, JSON.stringify(refused.body));
    assert.equal(refused.body.error.code, 'REVISION_CONFLICT');
    assert.equal((await b.api.call('GET', `/functions/${name}`)).body.function.activeVersion, 3, 'the deploy stands');
  });
});
