/**
 * Mongo data bindings end to end (docs/data-binding.md): an embedded platform that starts its own
 * FerretDB, functions declaring `data.mongo` in their manifest, real boxed Python runtimes using
 * `context.db` over the proxy socket bound into their box; runs list what they wrote; an attacker
 * function with its own client gets nothing of another database or the server; bad bindings are
 * refused with their codes; deleting a function revokes its credential and closes its socket.
 *
 * pymongo comes from the runtime's requirements (runtime/requirements.txt); FP_TEST_PYTHON names
 * another interpreter that has it.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { MongoClient } from 'mongodb';
import { ferretdbSqliteUrl } from '../../platform/ferretdb-sqlite.js';
import { startPlatform, type StartedPlatform } from '../../platform/start.js';
import { runCli } from '../helpers/cli-harness.js';
import { RawWebSocket } from '../helpers/ws-client.js';
import { findBinary, serverSkip, startFerret, type ServerProcess } from '../helpers/servers.js';
import { Api, createFunction, deploy, errorOf, filesOf, fnName, py, runsWritten, sleep, TEST_SECRETS_KEY, until, upload, usePlatform } from './platform-harness.js';
import { makeTenant, type Caller } from './tenants-harness.js';
import { ferretdbPid } from '../helpers/processes.js';

const skip = serverSkip('ferretdb');
const manifest = (name: string, data: unknown): Record<string, unknown> => ({ kind: 'function', name, data });

const SHOP = py(
  'import hashlib, os',
  'def handler(event, context):',
  '    orders = context.db.orders',
  '    orders.insert_one({"item": event.json()["item"], "run": context.run_id})',
  '    orders.update_many({"item": "pen"}, {"$set": {"seen": True}})',
  '    cred = hashlib.sha256(os.environ["FP_MONGO_URI"].encode()).hexdigest()[:12]',
  '    return {"db": context.db.name, "count": orders.count_documents({}), "runId": context.run_id, "cred": cred}',
);

const ATTACKER = py(
  'import os, json',
  'from pymongo import MongoClient',
  'from pymongo.errors import PyMongoError',
  'def handler(event, context):',
  '    out = {}',
  '    client = MongoClient(os.environ["FP_MONGO_URI"], serverSelectionTimeoutMS=3000)',
  '    for name, fn in [("other", lambda: client["default_crm"].c.find_one()),',
  '                     ("list", lambda: client.list_database_names()),',
  '                     ("admin", lambda: client.admin.command("serverStatus")),',
  '                     ("user", lambda: client.get_default_database().command("createUser", "x", pwd="y", roles=[])),',
  '                     ("out", lambda: list(context.db.t.aggregate([{"$out": {"db": "default_crm", "coll": "x"}}])))]:',
  '        try:',
  '            out[name] = "ALLOWED " + repr(fn())[:80]',
  '        except PyMongoError as err:',
  '            out[name] = str(err).split(":")[0]',
  '    out["sockets"] = sorted(os.listdir("/run/fp-data"))',
  '    out["backend_visible"] = os.path.exists(event.json()["backend"])',
  '    return out',
);

describe('Mongo data bindings on the embedded platform', { skip, timeout: 120_000 }, () => {
  const h = usePlatform({ poolSize: 1, ...(process.env.FP_TEST_PYTHON ? { pythonPath: process.env.FP_TEST_PYTHON } : {}) });

  it('gives a bound function context.db and lists each run\'s writes', async () => {
    const name = fnName('shop');
    await createFunction(h.api, name);
    await upload(h.api, name, { 'main.py': SHOP }, { manifest: manifest(name, { mongo: { database: 'shop' } }) });
    await deploy(h.api, name);
    const answers = [];
    for (const item of ['pen', 'ink']) {
      const res = await fetch(`${h.url}/fn/${name}/`, { method: 'POST', body: JSON.stringify({ item }) });
      assert.equal(res.status, 200, await res.clone().text());
      answers.push((await res.json()) as { db: string; count: number; runId: string; cred: string });
      assert.equal(res.headers.get('x-run-id'), answers.at(-1)!.runId);
    }
    assert.deepEqual(answers.map((a) => [a.db, a.count]), [['default_shop', 1], ['default_shop', 2]]);
    await runsWritten(h.url);
    const first = await h.api.call('GET', `/runs/${answers[0]!.runId}`);
    assert.equal(first.status, 200, JSON.stringify(first.body));
    assert.deepEqual(first.body.run.writes, [{ database: 'default_shop', collection: 'orders', inserted: 1, updated: 1, deleted: 0, upserted: 0 }]);
    const second = await h.api.call('GET', `/runs/${answers[1]!.runId}`);
    assert.deepEqual(second.body.run.writes, [{ database: 'default_shop', collection: 'orders', inserted: 1, updated: 0, deleted: 0, upserted: 0 }]);
    // The credential is never shown: not in the function, not in its versions.
    const shown = JSON.stringify([await h.api.call('GET', `/functions/${name}`), await h.api.call('GET', `/functions/${name}/versions`)].map((a) => a.body));
    assert.equal(/fp-[A-Za-z0-9_-]{12}|FP_MONGO_URI|authMechanism/.test(shown), false);

    // Which database the function uses, and which functions use the database.
    const binding = await h.api.call('GET', `/functions/${name}/data`);
    assert.deepEqual(binding.body, { binding: { workspace: 'default', database: 'shop', physical: 'default_shop', create: true } });
    const dbs = await h.api.call('GET', '/data/databases');
    assert.deepEqual(dbs.body.databases.find((d: { physical: string }) => d.physical === 'default_shop'), { workspace: 'default', database: 'shop', physical: 'default_shop', functions: [name] });

    // The same through the CLI: runs <id> --writes, data list, data show.
    const env = { FP_URL: h.url, FP_TOKEN: h.api.token!, HOME: h.stateDir };
    const writes = await runCli(['runs', answers[0]!.runId, '--writes', '--json'], { env });
    assert.equal(writes.code, 0, writes.stderr);
    assert.deepEqual(JSON.parse(writes.stdout).writes, first.body.run.writes);
    const text = await runCli(['runs', answers[0]!.runId, '--writes'], { env });
    assert.match(text.stdout, /default_shop\s+orders\s+1\s+1\s+0\s+0/);
    const list = await runCli(['data', '--json'], { env });
    assert.deepEqual(JSON.parse(list.stdout).databases.find((d: { physical: string }) => d.physical === 'default_shop').functions, [name]);
    const show = await runCli(['data', 'show', name], { env });
    assert.match(show.stdout, /uses database shop of workspace default/);

    // Rotation: new instances get a new credential and keep working.
    const rotated = await runCli(['data', 'rotate', name, '--grace', '0s', '--json'], { env });
    assert.equal(rotated.code, 0, rotated.stderr);
    assert.equal(JSON.parse(rotated.stdout).graceMs, 0);
    const after = await fetch(`${h.url}/fn/${name}/`, { method: 'POST', body: JSON.stringify({ item: 'cap' }) });
    assert.equal(after.status, 200, await after.clone().text());
    const third = (await after.json()) as { count: number; cred: string };
    assert.equal(third.count, 3);
    assert.notEqual(third.cred, answers[1]!.cred);
  });

  // Apps round 22: a FastAPI app had no `context`, so it made its own MongoClient from FP_MONGO_URI
  // and `runs <runId> --writes` listed none of its writes. The call's Context is in the ASGI scope
  // (ADR 0178), as Mangum's `aws.context`: its `db` tags the run's writes as a handler's does.
  it('gives an ASGI app the call\'s context in its scope: request.scope["fp.context"].db, whose writes its run lists', async () => {
    const name = fnName('notes');
    const app = py(
      'from fastapi import Depends, FastAPI, Request',
      'app = FastAPI()',
      'def get_db(request: Request):',
      '    return request.scope["fp.context"].db',
      '@app.post("/notes")',
      'def add(request: Request, db=Depends(get_db)):',
      '    db.notes.insert_one({"title": "first"})',
      '    ctx = request.scope["fp.context"]',
      '    return {"db": db.name, "runId": ctx.run_id, "count": db.notes.count_documents({}), "left": 0 < ctx.remaining_ms <= 30000}',
    );
    await createFunction(h.api, name);
    await upload(h.api, name, { 'main.py': app }, { entrypoint: 'main:app', manifest: manifest(name, { mongo: { database: 'notes' } }) });
    await deploy(h.api, name);
    const res = await fetch(`${h.url}/fn/${name}/notes`, { method: 'POST' });
    assert.equal(res.status, 200, await res.clone().text());
    const got = (await res.json()) as { db: string; runId: string; count: number; left: boolean };
    assert.deepEqual([got.db, got.runId, got.count, got.left], ['default_notes', res.headers.get('x-run-id'), 1, true]);
    await runsWritten(h.url);
    const run = await h.api.call('GET', `/runs/${got.runId}`);
    assert.deepEqual(run.body.run.writes, [{ database: 'default_notes', collection: 'notes', inserted: 1, updated: 0, deleted: 0, upserted: 0 }]);
  });

  // ADR 0178 left WebSocket connections without the context (ADR 0187): an app tagging its writes
  // with `.db` or reading `.run_id` in a WebSocket endpoint found no key. A connection is one run:
  // its writes are listed on it, and remaining_ms counts down to limits.timeout, when it is closed.
  it('gives a WebSocket endpoint the connection\'s context: scope["fp.context"].db tags its writes, run_id is the connection\'s run, remaining_ms counts down', async () => {
    const name = fnName('wsnotes');
    const app = py(
      'import asyncio',
      'from fastapi import FastAPI, WebSocket',
      'app = FastAPI()',
      '@app.websocket("/ws")',
      'async def notes(ws: WebSocket):',
      '    await ws.accept()',
      '    ctx = ws.scope.get("fp.context")',
      '    if ctx is None:',
      '        await ws.send_json({"missing": True})',
      '        return',
      '    first = ctx.remaining_ms',
      '    async for text in ws.iter_text():',
      '        ctx.db.notes.insert_one({"text": text})',
      '        await asyncio.sleep(0.05)',
      '        await ws.send_json({"db": ctx.db.name, "runId": ctx.run_id, "count": ctx.db.notes.count_documents({}), "first": first, "now": ctx.remaining_ms})',
    );
    await createFunction(h.api, name);
    await upload(h.api, name, { 'main.py': app }, { entrypoint: 'main:app', manifest: manifest(name, { mongo: { database: 'wsnotes' } }) });
    await deploy(h.api, name);
    const ws = await RawWebSocket.connect(`${h.url.replace('http:', 'ws:')}/fn/${name}/ws`);
    const runId = ws.headers['x-run-id'];
    ws.sendText('first note');
    const got = await ws.next();
    assert.equal(got.kind, 'text', JSON.stringify(got));
    const said = JSON.parse((got as { text: string }).text) as { missing?: true; db: string; runId: string; count: number; first: number; now: number };
    assert.equal(said.missing, undefined, 'the websocket scope has no fp.context');
    assert.deepEqual([said.db, said.runId, said.count], ['default_wsnotes', runId, 1]);
    // The connection's deadline is the function's timeout (30 s by default), counting down.
    assert.ok(said.first > 0 && said.first <= 30_000 && said.now < said.first, JSON.stringify(said));
    ws.close(1000);
    await ws.closed();
    await runsWritten(h.url);
    const run = await h.api.call('GET', `/runs/${runId}`);
    assert.equal(run.status, 200, JSON.stringify(run.body));
    assert.deepEqual(run.body.run.writes, [{ database: 'default_wsnotes', collection: 'notes', inserted: 1, updated: 0, deleted: 0, upserted: 0 }]);
  });

  it('keeps workspaces apart: own databases only, scoped routes with roles, audited binding changes and rotations', async () => {
    const p = { urls: [h.url], rootToken: h.api.token! };
    const [a, b] = [await makeTenant(p), await makeTenant(p)];
    const version = (caller: Caller, data?: unknown): Promise<unknown> =>
      caller.call('POST', '/functions/shop/versions', { files: filesOf({ 'main.py': SHOP }), manifest: { kind: 'function', name: 'shop', ...(data !== undefined ? { data } : {}) } });
    await a.deployer.expect(201, 'POST', '/functions', { name: 'shop' });
    // Another workspace's database is refused, existing or not; the function's own is `<workspace>_<name>`.
    const foreign = (await version(a.deployer, { mongo: { database: `shop.${b.name}` } })) as { status: number; body: unknown };
    assert.equal(foreign.status, 403, JSON.stringify(foreign.body));
    assert.equal(errorOf(foreign as never).code, 'DATA_DATABASE_FORBIDDEN');
    assert.equal(((await version(a.deployer, { mongo: { database: `shop.${a.name}` } })) as { status: number }).status, 201);
    await a.deployer.expect(200, 'POST', '/functions/shop/deploy');
    const res = await fetch(`${h.url}/fn/shop.${a.name}/`, { method: 'POST', body: '{"item": "pen"}' });
    assert.equal(res.status, 200, await res.clone().text());
    const served = (await res.json()) as { db: string; runId: string };
    assert.equal(served.db, `${a.name}_shop`);
    await runsWritten(h.url);
    const run = await a.viewer.expect(200, 'GET', `/runs/${served.runId}`);
    assert.deepEqual(run.body.run.writes.map((w: { database: string }) => w.database), [`${a.name}_shop`]);

    // Reads are the viewer's, in its own workspace only; another workspace's function is not found.
    const bound = await a.viewer.expect(200, 'GET', '/functions/shop/data');
    assert.deepEqual(bound.body.binding, { workspace: a.name, database: 'shop', physical: `${a.name}_shop`, create: true });
    assert.deepEqual((await a.viewer.expect(200, 'GET', '/data/databases')).body.databases, [{ workspace: a.name, database: 'shop', physical: `${a.name}_shop`, functions: ['shop'] }]);
    assert.deepEqual(await b.owner.refused('GET', '/functions/shop/data'), [404, 'FUNCTION_NOT_FOUND']);
    assert.deepEqual(await b.owner.refused('POST', '/functions/shop/data/rotate', {}), [404, 'FUNCTION_NOT_FOUND']);
    assert.deepEqual((await b.viewer.expect(200, 'GET', '/data/databases')).body.databases, []);
    const rootDefault = (await h.api.call('GET', '/data/databases')).body.databases as { workspace: string }[];
    assert.equal(rootDefault.every((d) => d.workspace === 'default'), true, JSON.stringify(rootDefault));

    // Rotation is the deployer's (as an invoke token's); a viewer or invoker is refused.
    for (const caller of [a.viewer, a.invoker]) {
      const refused = await caller.call('POST', '/functions/shop/data/rotate', {});
      assert.deepEqual([refused.status, refused.body.error.code, refused.body.error.required], [403, 'ROLE_FORBIDDEN', 'deployer']);
    }
    await a.deployer.expect(200, 'POST', '/functions/shop/data/rotate', { grace: '0s' });

    // A version without `data` unbinds; every binding change and the rotation are in the audit log.
    assert.equal(((await version(a.deployer)) as { status: number }).status, 201);
    await a.deployer.expect(200, 'POST', '/functions/shop/deploy');
    assert.equal((await a.viewer.expect(200, 'GET', '/functions/shop/data')).body.binding, null);
    // Its data stays, listed with no function using it, until the workspace's owner drops it.
    const left = [{ workspace: a.name, database: 'shop', physical: `${a.name}_shop`, functions: [] }];
    assert.deepEqual((await a.viewer.expect(200, 'GET', '/data/databases')).body.databases, left);
    assert.deepEqual((await b.viewer.expect(200, 'GET', '/data/databases')).body.databases, []);
    const notOwner = await a.deployer.call('DELETE', '/data/databases/shop');
    assert.deepEqual([notOwner.status, notOwner.body.error.code, notOwner.body.error.required], [403, 'ROLE_FORBIDDEN', 'owner']);
    assert.deepEqual(await b.owner.refused('DELETE', '/data/databases/shop'), [404, 'DATA_DATABASE_NOT_FOUND'], 'another workspace\'s database is not there for b');
    assert.deepEqual(await a.owner.refused('DELETE', `/data/databases/shop.${b.name}`), [400, 'INVALID_FIELD']);
    assert.deepEqual((await a.owner.expect(200, 'DELETE', '/data/databases/shop')).body, { dropped: true, workspace: a.name, database: 'shop', physical: `${a.name}_shop` });
    assert.deepEqual((await a.viewer.expect(200, 'GET', '/data/databases')).body.databases, []);
    assert.deepEqual(await a.owner.refused('DELETE', '/data/databases/shop'), [404, 'DATA_DATABASE_NOT_FOUND']);
    const entries = (await a.owner.expect(200, 'GET', '/audit?limit=1000')).body.items as { action: string; target: string; workspace: string; detail: Record<string, unknown> }[];
    const data = entries.filter((e) => e.action.startsWith('data')).reverse().map((e) => [e.action, e.target, e.workspace, e.detail['database'], e.detail['graceMs']]);
    assert.deepEqual(data, [
      ['data.bind', 'shop', a.name, 'shop', undefined],
      ['data-credentials.rotate', 'shop', a.name, 'shop', 0],
      ['data.unbind', 'shop', a.name, 'shop', undefined],
      ['data.drop', 'shop', a.name, undefined, undefined],
    ]);
    assert.equal(JSON.stringify(entries).includes('FP_MONGO_URI'), false);
  });

  it('checks the first deploy of a bound function too: its import using the database runs at deploy; a version that does not load is refused and leaves no binding', async () => {
    const good = fnName('bound');
    await createFunction(h.api, good);
    // The module touches the database at import: the check needs the binding made for it.
    await upload(h.api, good, { 'main.py': py('import os', 'from pymongo import MongoClient', 'COUNT = MongoClient(os.environ["FP_MONGO_URI"])[os.environ["FP_MONGO_DATABASE"]].warm.count_documents({})', 'def handler(event, context):', '    return {"count": COUNT}') }, { manifest: manifest(good, { mongo: { database: 'warm' } }) });
    const deployed = await h.api.call('POST', `/functions/${good}/deploy`, {});
    assert.equal(deployed.status, 200, JSON.stringify(deployed.body));
    assert.equal(deployed.body.start.checked, true, JSON.stringify(deployed.body.start));
    assert.deepEqual(await (await fetch(`${h.url}/fn/${good}/`)).json(), { count: 0 });
    const bad = fnName('boundbad');
    await createFunction(h.api, bad);
    await upload(h.api, bad, { 'main.py': py('import not_here_at_all', 'def handler(event, context):', '    return 1') }, { manifest: manifest(bad, { mongo: { database: 'badone' } }) });
    const refused = await h.api.call('POST', `/functions/${bad}/deploy`, {});
    assert.equal(refused.status, 422, JSON.stringify(refused.body));
    assert.equal(errorOf(refused).code, 'DEPLOY_START_FAILED');
    assert.deepEqual((await h.api.call('GET', `/functions/${bad}/data`)).body, { binding: null });
  });

  it('records what pymongo calls beyond the plain writes wrote: an upserting find_one_and_update, GridFS, sub-collections', async () => {
    const name = fnName('ledger');
    await createFunction(h.api, name);
    const code = `import gridfs
from pymongo import ReturnDocument
def handler(event, context):
    db = context.db
    op = event["query"]["op"]
    if op == "counter":
        doc = db.counters.find_one_and_update({"_id": "order"}, {"$inc": {"seq": 1}}, upsert=True, return_document=ReturnDocument.AFTER)
        return {"seq": doc["seq"]}
    if op == "gridfs":
        return {"id": str(gridfs.GridFS(db).put(b"x" * 300_000, filename="a.bin"))}
    db.logs.errors.insert_one({"e": 1})
    db.logs.with_options().update_one({"k": 1}, {"$set": {"v": 1}}, upsert=True)
    return {}
`;
    await upload(h.api, name, { 'main.py': code }, { manifest: manifest(name, { mongo: { database: 'ledger' } }) });
    await deploy(h.api, name);
    const writesOf = async (op: string): Promise<unknown> => {
      const res = await fetch(`${h.url}/fn/${name}/?op=${op}`);
      assert.equal(res.status, 200, await res.clone().text());
      await runsWritten(h.url);
      return (await h.api.call('GET', `/runs/${res.headers.get('x-run-id')}`)).body.run.writes;
    };
    const row = (collection: string, counts: Partial<Record<'inserted' | 'updated' | 'deleted' | 'upserted', number>>) =>
      ({ database: 'default_ledger', collection, inserted: 0, updated: 0, deleted: 0, upserted: 0, ...counts });
    // The counter's first call inserts it (lastErrorObject.upserted), the next one updates it.
    assert.deepEqual(await writesOf('counter'), [row('counters', { upserted: 1 })]);
    assert.deepEqual(await writesOf('counter'), [row('counters', { updated: 1 })]);
    // 300 000 bytes: two chunks of 255 KiB and the file document.
    assert.deepEqual(await writesOf('gridfs'), [row('fs.chunks', { inserted: 2 }), row('fs.files', { inserted: 1 })]);
    assert.deepEqual(await writesOf('sub'), [row('logs', { upserted: 1 }), row('logs.errors', { inserted: 1 })]);
  });

  it('keeps a counter exact under concurrent find_one_and_update $inc and upserts (the embedded FerretDB does not make them atomic)', async () => {
    const name = fnName('counter');
    await createFunction(h.api, name);
    const code = `import threading
from pymongo import ReturnDocument
from pymongo.errors import PyMongoError
def handler(event, context):
    db, key, seqs, errors = context.db, context.run_id, [], []
    def bump():
        for _ in range(15):
            try:
                seqs.append(db.counters.find_one_and_update({"_id": key}, {"$inc": {"seq": 1}}, upsert=True, return_document=ReturnDocument.AFTER)["seq"])
                db.hits.update_one({"_id": key}, {"$inc": {"n": 1}}, upsert=True)
            except PyMongoError as err:
                errors.append(str(err)[:120])
    threads = [threading.Thread(target=bump) for _ in range(8)]
    for t in threads: t.start()
    for t in threads: t.join()
    return {"distinct": len(set(seqs)), "final": db.counters.find_one({"_id": key})["seq"], "hits": db.hits.find_one({"_id": key})["n"], "errors": errors}
`;
    await upload(h.api, name, { 'main.py': code }, { manifest: { ...manifest(name, { mongo: { database: 'counter' } }), limits: { timeout: '60s' } } });
    await deploy(h.api, name);
    // 8 threads, each with its own connection through the proxy: before, 120 increments ended at
    // 23-36 and some first upserts failed E11000.
    const res = await fetch(`${h.url}/fn/${name}/`);
    assert.equal(res.status, 200, await res.clone().text());
    assert.deepEqual(await res.json(), { distinct: 120, final: 120, hits: 120, errors: [] });
  });

  it('says how to return documents as find gives them: their ObjectId _id fails the answer, and the run record says what to do', async () => {
    const name = fnName('rawdocs');
    await createFunction(h.api, name);
    const code = 'def handler(event, context):\n    context.db.notes.insert_one({"text": "hi"})\n    return {"notes": list(context.db.notes.find())}\n';
    await upload(h.api, name, { 'main.py': code }, { manifest: manifest(name, { mongo: { database: 'rawdocs' } }) });
    await deploy(h.api, name);
    const res = await fetch(`${h.url}/fn/${name}/`);
    assert.equal(res.status, 502);
    await runsWritten(h.url);
    const run = (await h.api.call('GET', `/runs/${res.headers.get('x-run-id')}`)).body.run;
    assert.equal(run.errorCode, 'FUNCTION_BAD_RESPONSE');
    assert.match(run.error.message, /Object of type ObjectId is not JSON serializable; a Mongo document's `_id` is an ObjectId: leave it out with the projection \{"_id": 0\}/);
  });

  it('answers DATA_BINDING_NOT_FOUND for a function without a binding', async () => {
    const name = fnName('plain');
    await createFunction(h.api, name);
    const res = await h.api.call('POST', `/functions/${name}/data/rotate`, {});
    assert.equal(res.status, 404);
    assert.equal(errorOf(res).code, 'DATA_BINDING_NOT_FOUND');
    assert.deepEqual((await h.api.call('GET', `/functions/${name}/data`)).body, { binding: null });
  });

  it('refuses an attacker function everything outside its database, from inside its box', async () => {
    const name = fnName('attacker');
    await createFunction(h.api, name);
    await upload(h.api, name, { 'main.py': ATTACKER }, { manifest: manifest(name, { mongo: { database: 'loot' } }) });
    await deploy(h.api, name);
    const backend = join(h.stateDir, 'data', 'ferretdb', 'ferretdb.sock');
    assert.equal(existsSync(backend), true);
    const res = await fetch(`${h.url}/fn/${name}/`, { method: 'POST', body: JSON.stringify({ backend }) });
    assert.equal(res.status, 200, await res.clone().text());
    const out = (await res.json()) as Record<string, unknown>;
    const isolated = h.platform.isolation.mode !== 'off';
    assert.deepEqual(out, {
      other: 'DATA_SCOPE_FORBIDDEN', list: 'DATA_SCOPE_FORBIDDEN', admin: 'DATA_SCOPE_FORBIDDEN', user: 'DATA_SCOPE_FORBIDDEN', out: 'DATA_SCOPE_FORBIDDEN',
      sockets: ['mongo.sock'], backend_visible: !isolated,
    });
  });

  it('refuses bindings it cannot honour, with their codes', async () => {
    const name = fnName('bad');
    await createFunction(h.api, name);
    const cases: [unknown, number, string][] = [
      [{ mongo: { database: 'nothere', create: false } }, 404, 'DATA_DATABASE_NOT_FOUND'],
      [{ mongo: { database: 'crm.acme' } }, 403, 'DATA_DATABASE_FORBIDDEN'],
      [{ mongo: { database: 'Bad Name' } }, 400, 'INVALID_FIELD'],
      [{ mongo: { database: 'x', extra: 1 } }, 400, 'UNKNOWN_FIELD'],
    ];
    for (const [data, status, code] of cases) {
      const res = await h.api.call('POST', `/functions/${name}/versions`, { files: [{ path: 'main.py', contentBase64: Buffer.from(SHOP).toString('base64') }], manifest: manifest(name, data) });
      assert.equal(res.status, status, JSON.stringify(res.body));
      assert.equal(errorOf(res).code, code);
    }
    // The CLI says what was refused, without sending a good token to log in again.
    const dir = mkdtempSync(join(tmpdir(), 'fp-data-cli-'));
    try {
      writeFileSync(join(dir, 'platform.yaml'), `kind: function\nname: ${name}\ndata:\n  mongo:\n    database: crm.acme\n`);
      writeFileSync(join(dir, 'main.py'), SHOP);
      const cli = await runCli(['deploy'], { cwd: dir, env: { FP_URL: h.url, FP_TOKEN: h.api.token!, HOME: h.stateDir } });
      assert.equal(cli.code, 4, cli.stderr);
      assert.match(cli.stderr, /can only bind databases of default.*\[DATA_DATABASE_FORBIDDEN\]/);
      assert.doesNotMatch(cli.stderr, /token|log in/i);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
    // An existing database with create: false is fine (`shop` was created by the first test).
    await upload(h.api, name, { 'main.py': SHOP }, { manifest: manifest(name, { mongo: { database: 'shop', create: false } }) });
  });

  it('revokes the credential and closes the socket when the function is deleted; the data stays until its database is dropped, when asked', async () => {
    const name = fnName('gone');
    await createFunction(h.api, name);
    await upload(h.api, name, { 'main.py': SHOP }, { manifest: manifest(name, { mongo: { database: 'keep' } }) });
    await deploy(h.api, name);
    assert.equal((await fetch(`${h.url}/fn/${name}/`, { method: 'POST', body: '{"item": "a"}' })).status, 200);
    const socketRoot = join(h.stateDir, 'data', 'sock');
    const before = readdirSync(socketRoot).filter((d) => existsSync(join(socketRoot, d, 'mongo.sock'))).length;
    const current = await h.api.call('GET', `/functions/${name}`);
    const del = await h.api.call('DELETE', `/functions/${name}`, undefined, { 'if-match': String(current.body.function.revision) });
    assert.ok(del.status === 200 || del.status === 204, JSON.stringify(del.body));
    const after = readdirSync(socketRoot).filter((d) => existsSync(join(socketRoot, d, 'mongo.sock'))).length;
    assert.equal(after, before - 1);
    // The data is still there: a new function bound to the same database sees it.
    const again = fnName('again');
    await createFunction(h.api, again);
    await upload(h.api, again, { 'main.py': SHOP }, { manifest: manifest(again, { mongo: { database: 'keep', create: false } }) });
    await deploy(h.api, again);
    const res = await fetch(`${h.url}/fn/${again}/`, { method: 'POST', body: '{"item": "b"}' });
    assert.equal(((await res.json()) as { count: number }).count, 2);
    // Dropped only when asked, and never while a function is bound to it.
    const inUse = await h.api.call('DELETE', '/data/databases/keep');
    assert.deepEqual([inUse.status, errorOf(inUse).code, inUse.body.error.functions], [409, 'DATA_DATABASE_IN_USE', [again]]);
    const env = { FP_URL: h.url, FP_TOKEN: h.api.token!, HOME: h.stateDir };
    const refused = await runCli(['data', 'drop', 'keep', '--yes'], { env });
    assert.equal(refused.code, 4, refused.stderr);
    assert.match(refused.stderr, /bound to [^:]+: deploy it without data\.mongo, or delete it, first.*\[DATA_DATABASE_IN_USE\]/);
    assert.match(String(errorOf(inUse).message), /: deploy it without data\.mongo, or delete it, first$/);
    const current2 = await h.api.call('GET', `/functions/${again}`);
    await h.api.call('DELETE', `/functions/${again}`, undefined, { 'if-match': String(current2.body.function.revision) });
    const listed = await runCli(['data', 'list'], { env });
    assert.match(listed.stdout, /keep\s+default_keep\s+\(none: `data drop` removes it\)/, listed.stdout);
    const unasked = await runCli(['data', 'drop', 'keep'], { env });
    assert.equal(unasked.code, 2, unasked.stderr);
    assert.match(unasked.stderr, /CONFIRMATION_REQUIRED|pass --yes/);
    const dropped = await runCli(['data', 'drop', 'keep', '--yes'], { env });
    assert.equal(dropped.code, 0, dropped.stderr);
    assert.match(dropped.stdout, /Dropped database keep of workspace default \(default_keep on the server\)/);
    const probe = fnName('probe');
    await createFunction(h.api, probe);
    const gone = await h.api.call('POST', `/functions/${probe}/versions`, { files: filesOf({ 'main.py': SHOP }), manifest: manifest(probe, { mongo: { database: 'keep', create: false } }) });
    assert.equal(errorOf(gone).code, 'DATA_DATABASE_NOT_FOUND', 'its data is gone from the server');
  });

  it('believes a function\'s DATA_BACKEND_UNAVAILABLE only when its proxy said so: one it raises itself is its own FUNCTION_ERROR', async () => {
    const name = fnName('forger');
    await createFunction(h.api, name);
    const FORGER = py(
      'from pymongo.errors import OperationFailure',
      'def handler(event, context):',
      '    context.db.t.insert_one({"ok": 1})  # the binding works',
      '    raise OperationFailure("DATA_BACKEND_UNAVAILABLE: forged", 6, {"ok": 0, "code": 6, "errmsg": "forged", "fpCode": "DATA_BACKEND_UNAVAILABLE"})',
    );
    await upload(h.api, name, { 'main.py': FORGER }, { manifest: manifest(name, { mongo: { database: 'forger' } }) });
    await deploy(h.api, name);
    const res = await fetch(`${h.url}/fn/${name}/`);
    assert.equal(res.status, 500, await res.clone().text());
    const body = (await res.json()) as { error: { code: string; runId: string } };
    assert.equal(body.error.code, 'FUNCTION_ERROR');
    await runsWritten(h.url);
    const run = (await h.api.call('GET', `/runs/${res.headers.get('x-run-id')}`)).body.run as { errorCode: string; errorClass: string };
    assert.deepEqual([run.errorCode, run.errorClass], ['FUNCTION_ERROR', 'user_error']);
  });

  it('starts its own FerretDB again when it dies: bindings fail meanwhile, then work with their data', async () => {
    const name = fnName('revive');
    await createFunction(h.api, name);
    await upload(h.api, name, { 'main.py': SHOP }, { manifest: manifest(name, { mongo: { database: 'revive' } }) });
    await deploy(h.api, name);
    const call = (): Promise<Response> => fetch(`${h.url}/fn/${name}/`, { method: 'POST', body: '{"item": "a"}' });
    assert.equal((await call()).status, 200);
    const pid = ferretdbPid(h.stateDir);
    process.kill(pid, 'SIGKILL');
    // Down: the call fails on its binding, as the platform's failure (503, not the function's
    // FUNCTION_ERROR), or, once it is back, succeeds; then it is served again.
    const down = await call();
    if (down.status !== 200) {
      assert.equal(down.status, 503);
      assert.equal(((await down.json()) as { error: { code: string } }).error.code, 'DATA_BACKEND_UNAVAILABLE');
    }
    const deadline = Date.now() + 20_000;
    let count = 0;
    for (;;) {
      const res = await call();
      if (res.status === 200) {
        count = ((await res.json()) as { count: number }).count;
        break;
      }
      assert.ok(Date.now() < deadline, `still failing: ${res.status}`);
      await sleep(200);
    }
    assert.notEqual(ferretdbPid(h.stateDir), pid);
    assert.ok(count >= 2, `the data before the crash is kept (count ${count})`);
  });
});


describe('a data binding whose server goes down', { skip, timeout: 120_000 }, () => {
  let ferret: ServerProcess;
  let h: { platform: StartedPlatform; api: Api; url: string; stateDir: string };
  before(async () => {
    ferret = await startFerret();
    const stateDir = mkdtempSync(join(tmpdir(), 'fp-data-down-'));
    const platform = await startPlatform({
      stateDir, port: 0, poolSize: 1, shutdownGraceMs: 2000, secretsKey: TEST_SECRETS_KEY, log: () => undefined,
      dataMongoUrl: `mongodb://127.0.0.1:${ferret.port}`, ...(process.env.FP_TEST_PYTHON ? { pythonPath: process.env.FP_TEST_PYTHON } : {}),
    });
    h = { platform, api: new Api(platform.url, platform.takeAdminToken() ?? null), url: platform.url, stateDir };
  });
  after(async () => {
    await h?.platform.close();
    await ferret?.destroy();
    if (h?.stateDir) rmSync(h.stateDir, { recursive: true, force: true });
  });

  it('fails the attempt with DATA_BACKEND_UNAVAILABLE and retries the async run until it is back; nothing is lost', async () => {
    const name = fnName('down');
    await createFunction(h.api, name, { invocation: 'both', retry: { maxAttempts: 10, backoff: '1s', maxBackoff: '1s' } });
    await upload(h.api, name, { 'main.py': SHOP }, { manifest: manifest(name, { mongo: { database: 'down' } }) });
    await deploy(h.api, name);
    await ferret.stop('SIGKILL');
    const accepted = await fetch(`${h.url}/async/${name}/`, { method: 'POST', body: '{"item": "kept"}' });
    assert.equal(accepted.status, 202);
    const { runId } = (await accepted.json()) as { runId: string };
    // Wait for the first attempt to fail (an event, not a delay), then bring the server back.
    type Attempt = { status: string; errorCode: string | null; errorClass: string | null; error: { message: string } | null };
    let first: Attempt | undefined;
    for (let i = 0; first === undefined; i++) {
      const r = await h.api.call('GET', `/runs/${runId}`);
      first = (r.body.run.attempts as Attempt[]).find((a) => a.status === 'failed');
      assert.ok(i < 300, JSON.stringify(r.body));
      if (first === undefined) await sleep(50);
    }
    assert.match(first.error!.message, /DATA_BACKEND_UNAVAILABLE/);
    // The platform's failure, not the function's: its code and no class (as RUNTIME_UNAVAILABLE), so
    // retries and stats do not count it against the function's code.
    assert.deepEqual([first.errorCode, first.errorClass], ['DATA_BACKEND_UNAVAILABLE', null], JSON.stringify(first));
    // A sync call meanwhile: 503 with the code, its text only in the run record (errors: generic).
    const sync = await fetch(`${h.url}/fn/${name}/`, { method: 'POST', body: '{"item": "sync"}' });
    const syncBody = (await sync.json()) as { error: { code: string; message: string } };
    assert.deepEqual([sync.status, syncBody.error.code], [503, 'DATA_BACKEND_UNAVAILABLE'], JSON.stringify(syncBody));
    assert.doesNotMatch(syncBody.error.message, /ECONNREFUSED|full error/);
    // A binding that needs its database to exist cannot be checked now: said without the server's address.
    const checked = fnName('down-check');
    await createFunction(h.api, checked);
    const refused = await h.api.call('POST', `/functions/${checked}/versions`, { files: filesOf({ 'main.py': SHOP }), manifest: manifest(checked, { mongo: { database: 'down', create: false } }) });
    assert.equal(errorOf(refused).code, 'DATA_BACKEND_UNAVAILABLE', JSON.stringify(refused.body));
    assert.equal(JSON.stringify(refused.body).includes(String(ferret.port)), false, JSON.stringify(refused.body));
    await ferret.start();
    for (let i = 0; ; i++) {
      const r = await h.api.call('GET', `/runs/${runId}`);
      if (r.body.run.state === 'succeeded') break;
      assert.ok(i < 300 && r.body.run.state !== 'failed', JSON.stringify(r.body));
      await sleep(50);
    }
    const client = new MongoClient(`mongodb://127.0.0.1:${ferret.port}/`);
    try {
      assert.equal(await client.db('default_down').collection('orders').countDocuments({ item: 'kept' }), 1);
    } finally {
      await client.close();
    }
  });
});

describe('run sampling with data bindings', { skip, timeout: 120_000 }, () => {
  // No budget and no sample: of the successful warm HTTP calls, only those that wrote keep a record.
  const h = usePlatform({ poolSize: 1, runKeepPerMinute: 0, runSampleOneIn: 0, ...(process.env.FP_TEST_PYTHON ? { pythonPath: process.env.FP_TEST_PYTHON } : {}) });

  it('keeps the full record of every run that wrote through its binding, and samples out the others', async () => {
    const name = fnName('sampled');
    await createFunction(h.api, name);
    const handler = py(
      'def handler(event, context):',
      '    if event.json()["write"]:',
      '        context.db.notes.insert_one({"run": context.run_id})',
      '    return {"count": context.db.notes.count_documents({})}',
    );
    await upload(h.api, name, { 'main.py': handler }, { manifest: manifest(name, { mongo: { database: 'sampled' } }) });
    await deploy(h.api, name);
    const call = async (write: boolean): Promise<{ runId: string; cold: boolean }> => {
      const res = await fetch(`${h.url}/fn/${name}/`, { method: 'POST', body: JSON.stringify({ write }) });
      assert.equal(res.status, 200, await res.clone().text());
      await res.arrayBuffer();
      return { runId: res.headers.get('x-run-id')!, cold: res.headers.get('x-cold-start') === '1' };
    };
    await call(false); // the cold start: kept anyway
    const [read, wrote] = [await call(false), await call(true)];
    assert.deepEqual([read.cold, wrote.cold], [false, false]);
    await runsWritten(h.url);
    assert.equal((await h.api.call('GET', `/runs/${read.runId}`)).status, 404, 'a warm run that wrote nothing is sampled out');
    const kept = await h.api.call('GET', `/runs/${wrote.runId}`);
    assert.equal(kept.status, 200, JSON.stringify(kept.body));
    assert.deepEqual(kept.body.run.writes, [{ database: 'default_sampled', collection: 'notes', inserted: 1, updated: 0, deleted: 0, upserted: 0 }]);
  });
});

// A build from before FerretDB got its parent-death signal, killed -9, left its FerretDB serving
// the state's data folder. The next start ran a second one on the same SQLite files beside it,
// said nothing, and the orphan outlived every later stop (probe-chaos8/ferret-orphan).
describe('an orphaned FerretDB on the state (reliability round 8)', { skip, timeout: 120_000 }, () => {
  it('is ended at start, and the log says so', async (t) => {
    const stateDir = mkdtempSync(join(tmpdir(), 'fp-orphan-'));
    t.after(() => rmSync(stateDir, { recursive: true, force: true }));
    const home = join(stateDir, 'data', 'ferretdb');
    mkdirSync(join(home, 'sqlite'), { recursive: true, mode: 0o700 });
    // The arguments platform/data.ts gives it, in a session of its own: nobody's child to die with.
    const orphan = spawn(findBinary('ferretdb')!, [
      '--handler=sqlite', `--sqlite-url=${ferretdbSqliteUrl(join(home, 'sqlite'))}`, '--listen-addr=', `--listen-unix=${join(home, 'ferretdb.sock')}`,
      `--state-dir=${home}`, '--debug-addr=-', '--telemetry=disable', '--log-level=warn',
    ], { stdio: 'ignore', detached: true });
    t.after(() => orphan.kill('SIGKILL'));
    await until("the orphan's socket", () => existsSync(join(home, 'ferretdb.sock')), 20_000);
    const logs: string[] = [];
    const platform = await startPlatform({ stateDir, port: 0, poolSize: 1, secretsKey: TEST_SECRETS_KEY, log: (line) => logs.push(line) });
    t.after(() => platform.close());
    // Before: it ran on beside the platform's own FerretDB, and outlived the platform's stop.
    await until("the orphan's end", () => orphan.exitCode !== null || orphan.signalCode !== null, 20_000);
    assert.match(logs.join('\n'), new RegExp(`platform: warning: ended an orphaned FerretDB \\(pid ${orphan.pid}\\) still serving ${home}`), logs.join('\n'));
    assert.notEqual(ferretdbPid(stateDir), orphan.pid, "the platform's own FerretDB serves");
    assert.equal(platform.data?.backend, 'ferretdb');
  });
});
