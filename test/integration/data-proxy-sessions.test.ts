/**
 * Sessions through the data proxy (ADR 0223): pymongo's `start_session()` works (ODMantic saves every
 * model in one; before, it raised `ConfigurationError: Sessions are not supported by this MongoDB
 * deployment` and an ODMantic app could save nothing), and a transaction is refused with a message
 * that says so, at once, with nothing written (FerretDB 1.x answered `unknown field
 * "startTransaction"`). Real FerretDB behind the proxy, pymongo in front (apps round 25).
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
import json, sys, time
from pymongo import MongoClient
from pymongo.errors import PyMongoError
client = MongoClient(sys.argv[1], serverSelectionTimeoutMS=5000)
coll = client.get_default_database().orders
out = {}
def attempt(name, fn):
    t = time.monotonic()
    try:
        out[name] = {"ok": fn()}
    except PyMongoError as e:
        out[name] = {"error": type(e).__name__, "code": getattr(e, "code", None), "message": str(e)}
    out[name]["ms"] = round((time.monotonic() - t) * 1000)
def in_session():
    with client.start_session() as s:
        coll.insert_one({"k": "session"}, session=s)
        return coll.find_one({"k": "session"}, {"_id": 0}, session=s)["k"]
attempt("session", in_session)
def in_transaction():
    with client.start_session() as s:
        with s.start_transaction():
            coll.insert_one({"k": "txn"}, session=s)
attempt("transaction", in_transaction)
def with_transaction():
    with client.start_session() as s:
        s.with_transaction(lambda s: coll.insert_one({"k": "cb"}, session=s))
attempt("with_transaction", with_transaction)
out["left"] = sorted(d["k"] for d in coll.find({}, {"_id": 0}))
print(json.dumps(out))
`;

function runPython(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const python = process.env.FP_TEST_PYTHON ?? repoPath('.venv', 'bin', 'python');
    const child = spawn(python, ['-c', SCRIPT, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

describe('data proxy: sessions without transactions', { skip }, () => {
  let ferret: ServerProcess;
  let proxy: DataProxy;
  let dir: string;
  const credentials = new DataCredentials();
  const grant = { functionKey: 'sessions-fn', workspace: 'default', database: 'sessions', physical: physicalDatabase('default', 'sessions') };
  let uri: string;

  before(async () => {
    ferret = await startFerret();
    dir = mkdtempSync(join(tmpdir(), 'fp-data-sessions-'));
    proxy = new DataProxy({ backend: { host: '127.0.0.1', port: ferret.port }, credentials, ledger: new WriteLedger() });
    const sock = await proxy.listen(grant.functionKey, join(dir, 'sessions', 'mongo.sock'));
    uri = bindingUri(sock, grant.physical, credentials.credentialFor(grant));
  });
  after(async () => {
    await proxy?.close();
    await ferret?.destroy();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('serves a pymongo session, refuses a transaction at once saying so, and writes nothing of it', { timeout: 60_000 }, async () => {
    const run = await runPython([uri]);
    assert.equal(run.code, 0, run.stderr);
    const out = JSON.parse(run.stdout) as Record<string, { ok?: unknown; error?: string; code?: number; message?: string; ms: number }> & { left: string[] };
    assert.deepEqual(out.session, { ok: 'session', ms: out.session!.ms }, JSON.stringify(out.session));
    for (const name of ['transaction', 'with_transaction']) {
      const result = out[name]!;
      assert.equal(result.error, 'OperationFailure', `${name}: ${JSON.stringify(result)}`);
      assert.equal(result.code, 13);
      assert.match(result.message ?? '', /DATA_SCOPE_FORBIDDEN: transactions are not offered by data bindings/);
      assert.ok(result.ms < 5_000, `${name} answered in ${result.ms} ms (with_transaction retries a transient error for 120 s)`);
    }
    assert.deepEqual(out.left, ['session']);
  });
});
