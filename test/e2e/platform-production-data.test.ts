/**
 * Data bindings in production mode (docs/data-binding.md, "Production"; ADR 0109): processes
 * that share a Redis and a MongoDB must share the bindings' server too. Each process used to start
 * a FerretDB of its own under its state directory, so a function's database had one copy per
 * process: a write served by one process was not there when the next call landed on another.
 */
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { clusterOptions, productionSkip, startNode, useServers, type Node } from './production-harness.js';
import { createFunction, deploy, errorOf, fnName, py, sleep, upload } from './platform-harness.js';

const python = process.env.FP_TEST_PYTHON ? { pythonPath: process.env.FP_TEST_PYTHON } : {};
const COUNTER = py(
  'def handler(event, context):',
  '    context.db.hits.insert_one({"run": context.run_id})',
  '    return {"count": context.db.hits.count_documents({})}',
);
const manifest = (name: string): Record<string, unknown> => ({ kind: 'function', name, data: { mongo: { database: 'shared' } } });

describe('data bindings in production mode', { skip: productionSkip, timeout: 180_000 }, () => {
  const servers = useServers();
  const nodes: Node[] = [];
  after(async () => {
    await Promise.all(nodes.map((n) => n.close()));
  });

  it('starts no FerretDB per process: without FP_DATA_MONGO_URL bindings are refused, and the log says what to set', async () => {
    const node = await startNode({ ...clusterOptions(servers), ...python });
    nodes.push(node);
    assert.equal(node.platform.data, null);
    assert.equal(existsSync(join(node.platform.stateDir, 'data', 'ferretdb')), false, 'no FerretDB of its own');
    assert.ok(node.logs.some((l) => l.includes('data bindings off') && l.includes('FP_DATA_MONGO_URL')), node.logs.join('\n'));
    const name = fnName('split');
    await createFunction(node.api, name);
    const res = await node.api.call('POST', `/functions/${name}/versions`, { files: [{ path: 'main.py', contentBase64: Buffer.from(COUNTER).toString('base64') }], manifest: manifest(name) });
    assert.equal(errorOf(res).code, 'DATA_BACKEND_NOT_CONFIGURED', JSON.stringify(res.body));
    // What helps in production mode: FP_DATA_MONGO_URL, not installing FerretDB.
    assert.match(String(errorOf(res)['message']), /production mode starts no FerretDB of its own .*set FP_DATA_MONGO_URL to the server every process shares/);
  });

  it('with FP_DATA_MONGO_URL, two processes serve one database: a write through one is read through the other', async () => {
    const options = { ...clusterOptions(servers), dataMongoUrl: servers.ferret.url, ...python };
    const a = await startNode(options);
    nodes.push(a);
    const b = await startNode(options, a.api.token);
    nodes.push(b);
    const name = fnName('shared');
    await createFunction(a.api, name);
    await upload(a.api, name, { 'main.py': COUNTER }, { manifest: manifest(name) });
    await deploy(a.api, name);
    const first = await fetch(`${a.url}/fn/${name}/`, { method: 'POST' });
    assert.equal(first.status, 200, await first.clone().text());
    assert.deepEqual(await first.json(), { count: 1 });
    // The other process learns of the deploy through Redis: its first 200 is the second write.
    for (let i = 0; ; i++) {
      const res = await fetch(`${b.url}/fn/${name}/`, { method: 'POST' });
      if (res.status === 200) {
        assert.deepEqual(await res.json(), { count: 2 }, 'the second process sees the first one\'s write');
        break;
      }
      assert.ok(i < 200, `${res.status} ${await res.text()}`);
      await sleep(50);
    }
  });

  it('a bound function served by a process without FP_DATA_MONGO_URL says the platform has no server for it, not "add data: to platform.yaml"', async () => {
    const shared = { ...clusterOptions(servers), ...python };
    const a = await startNode({ ...shared, dataMongoUrl: servers.ferret.url });
    nodes.push(a);
    const name = fnName('unset');
    await createFunction(a.api, name);
    await upload(a.api, name, { 'main.py': COUNTER }, { manifest: manifest(name) });
    await deploy(a.api, name);
    const c = await startNode(shared, a.api.token);
    nodes.push(c);
    const res = await fetch(`${c.url}/fn/${name}/`, { method: 'POST' });
    assert.equal(res.status, 500, await res.clone().text());
    const { runId } = ((await res.json()) as { error: { runId: string } }).error;
    let run: { error?: { message: string } } | undefined;
    for (let i = 0; run?.error === undefined; i++) {
      const r = await c.api.call('GET', `/runs/${runId}`);
      if (r.status === 200) run = r.body.run;
      assert.ok(i < 200, JSON.stringify(r.body));
      if (run?.error === undefined) await sleep(50);
    }
    assert.match(run.error!.message, /^platform\.yaml binds database 'shared', but this platform has no database server for data bindings \(DATA_BACKEND_NOT_CONFIGURED\)/);
  });
});
