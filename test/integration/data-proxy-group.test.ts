/**
 * A `$group` of more than one accumulator through the data proxy (ADR 0177): FerretDB 1.24 answers 0
 * for every accumulator after the first, silently (`{"total": {"$sum": "$price"}, "n": {"$sum": 1}}`
 * gave `n: 0`: apps round 25). The proxy now refuses such a pipeline with DATA_PIPELINE_UNSUPPORTED
 * and a message that says how to write it, when the server is a FerretDB 1.x (its `buildInfo`, or
 * the embedded one's option); one accumulator per `$group` goes through. Real FerretDB behind the
 * proxy, pymongo in front.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { bindingUri, DataCredentials, DataProxy, physicalDatabase, WriteLedger } from '../../controlplane/index.js';
import { repoPath } from '../helpers/runtime-process.js';
import { serverSkip, startFerret, type ServerProcess } from '../helpers/servers.js';

const skip = serverSkip('ferretdb');

const SCRIPT = `
import json, sys
from pymongo import MongoClient
from pymongo.errors import PyMongoError
client = MongoClient(sys.argv[1], serverSelectionTimeoutMS=5000)
coll = client.get_default_database().items
coll.delete_many({})
coll.insert_many([{"cat": "a", "price": 2}, {"cat": "a", "price": 3}, {"cat": "b", "price": 10}])
out = {}
def attempt(name, pipeline):
    try:
        out[name] = {"ok": sorted(coll.aggregate(pipeline), key=lambda d: d["_id"])}
    except PyMongoError as e:
        out[name] = {"error": type(e).__name__, "code": getattr(e, "code", None), "fpCode": (e.details or {}).get("fpCode"), "message": str(e)}
attempt("two", [{"$group": {"_id": "$cat", "total": {"$sum": "$price"}, "n": {"$sum": 1}}}])
attempt("later", [{"$match": {}}, {"$sort": {"cat": 1}}, {"$group": {"_id": None, "n": {"$count": {}}, "total": {"$sum": "$price"}}}])
attempt("total", [{"$group": {"_id": "$cat", "total": {"$sum": "$price"}}}])
attempt("n", [{"$group": {"_id": "$cat", "n": {"$sum": 1}}}])
print(json.dumps(out))
`;

function runPython(uri: string): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const python = process.env.FP_TEST_PYTHON ?? repoPath('.venv', 'bin', 'python');
    const child = spawn(python, ['-c', SCRIPT, uri], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

type Outcome = { ok?: { _id: string | null; total?: number; n?: number }[]; error?: string; code?: number; fpCode?: string; message?: string };

describe('data proxy: a $group of several accumulators on FerretDB 1.x', { skip }, () => {
  let ferret: ServerProcess;
  let dir: string;
  const proxies: DataProxy[] = [];
  const credentials = new DataCredentials();

  /** A proxy in front of the FerretDB, and a binding URI through it. */
  async function through(name: string, oneAccumulatorPerGroup?: boolean): Promise<string> {
    const proxy = new DataProxy({ backend: { host: '127.0.0.1', port: ferret.port }, credentials, ledger: new WriteLedger(), ...(oneAccumulatorPerGroup !== undefined ? { oneAccumulatorPerGroup } : {}) });
    proxies.push(proxy);
    const grant = { functionKey: `${name}-fn`, workspace: 'default', database: name, physical: physicalDatabase('default', name) };
    const sock = await proxy.listen(grant.functionKey, join(dir, name, 'mongo.sock'));
    return bindingUri(sock, grant.physical, credentials.credentialFor(grant));
  }

  before(async () => {
    ferret = await startFerret();
    dir = mkdtempSync(join(tmpdir(), 'fp-data-group-'));
  });
  after(async () => {
    for (const proxy of proxies) await proxy.close();
    await ferret?.destroy();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('refuses it saying how to write it (the server asked), and serves one accumulator per $group', { timeout: 60_000 }, async () => {
    const run = await runPython(await through('asked'));
    assert.equal(run.code, 0, run.stderr);
    const out = JSON.parse(run.stdout) as Record<string, Outcome>;
    // Before: {"ok": [{"_id": "a", "total": 5, "n": 0}, {"_id": "b", "total": 10, "n": 0}]}, a wrong number.
    for (const name of ['two', 'later']) {
      const result = out[name]!;
      assert.equal(result.error, 'OperationFailure', `${name}: ${JSON.stringify(result)}`);
      assert.equal(result.code, 238);
      assert.equal(result.fpCode, 'DATA_PIPELINE_UNSUPPORTED');
      assert.match(result.message ?? '', /DATA_PIPELINE_UNSUPPORTED: .*answers 0 for every accumulator of a \$group after the first.*one accumulator, one aggregate\(\) per value/);
    }
    assert.deepEqual(out.total, { ok: [{ _id: 'a', total: 5 }, { _id: 'b', total: 10 }] });
    assert.deepEqual(out.n, { ok: [{ _id: 'a', n: 2 }, { _id: 'b', n: 1 }] });
  });

  it('refuses it on the embedded FerretDB without asking, and a server said not to have the flaw answers as it does', { timeout: 60_000 }, async () => {
    const refused = JSON.parse((await runPython(await through('told', true))).stdout) as Record<string, Outcome>;
    assert.equal(refused.two!.fpCode, 'DATA_PIPELINE_UNSUPPORTED');
    // What FerretDB 1.24 itself answers, which the refusal is for: the second accumulator's 0.
    const passed = JSON.parse((await runPython(await through('passed', false))).stdout) as Record<string, Outcome>;
    assert.deepEqual(passed.two, { ok: [{ _id: 'a', total: 5, n: 0 }, { _id: 'b', total: 10, n: 0 }] });
  });
});
