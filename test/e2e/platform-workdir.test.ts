/**
 * A function's working directory takes new files (issue 10, "real apps run unchanged": FastAPI's
 * SQL tutorial opens `sqlite:///database.db`): in root mode /code is an overlay of the version's
 * files and a tmpfs of the instance's own (fp_sandbox/enter.py). What an instance writes there
 * is its own: not another instance's, not the next version's, never the deployed files.
 */
import assert from 'node:assert/strict';
import { realpathSync } from 'node:fs';
import { dirname } from 'node:path';
import { describe, it } from 'node:test';
import { defaultPoolConfig } from '../../poolmgr/config.js';
import { deploy, deployed, fnName, upload, usePlatform } from './platform-harness.js';

const APP = [
  'import os, sqlite3, time',
  'db = sqlite3.connect("app.db", check_same_thread=False)  # relative: the working directory, /code',
  'db.execute("create table if not exists hits (at real)")',
  'def handler(event, context):',
  '    if event["path"] == "/slow":',
  '        time.sleep(0.5)',
  '    db.execute("insert into hits values (?)", (time.time(),))',
  '    db.commit()',
  '    open("note.txt", "a").write("x")',
  '    return {"cwd": os.getcwd(), "hits": db.execute("select count(*) from hits").fetchone()[0],',
  '            "files": sorted(os.listdir(".")), "note": os.path.getsize("note.txt"),',
  '            "version": context.function_version, "pid": os.getpid()}',
].join('\n');

describe('the working directory', () => {
  const h = usePlatform({ poolSize: 2 });

  it('takes new files in root mode, private to each instance and version', async (t) => {
    if (h.platform.isolation.mode !== 'root') return t.skip('the writable layer needs root mode (a uid of its own owns it)');
    const name = fnName('workdir');
    await deployed(h.api, name, { 'main.py': APP }, { limits: { maxInstances: 2, concurrency: 1 } });
    const call = async (path = '/'): Promise<{ cwd: string; hits: number; files: string[]; note: number; version: string }> => {
      const res = await fetch(`${h.url}/fn/${name}${path}`);
      assert.equal(res.status, 200, await res.clone().text());
      return await res.json() as never;
    };
    const first = await call();
    assert.equal(first.cwd, '/code');
    assert.deepEqual(first.files.filter((f) => f !== "__pycache__"), ["app.db", "main.py", "note.txt"]);
    assert.equal((await call()).hits, 2, 'the same instance keeps its database across calls');
    // Two calls at once: the second instance starts with an empty layer of its own.
    const [a, b] = await Promise.all([call('/slow'), call('/slow')]);
    // (each instance is pid 2 of its own PID namespace: the counts tell them apart)
    assert.deepEqual([a.hits, b.hits].sort(), [1, 3], JSON.stringify([a, b]));
    // A new version: a fresh layer over its own files.
    await upload(h.api, name, { 'main.py': APP });
    await deploy(h.api, name);
    const next = await call();
    assert.notEqual(next.version, first.version);
    assert.equal(next.hits, 1);
    assert.equal(next.note, 1);
  });
});

// A project's own folders take new files too (apps round 9): `data/.gitkeep` shipped beside
// `sqlite:///data/app.db`, a `logs/` folder for a logging FileHandler. Under uvicorn both work; here
// the version's folders stayed the deployer's, so the app failed at import with PermissionError.
const PROJECT = [
  'import logging, os, sqlite3',
  'fh = logging.FileHandler("logs/app.log")  # at import, as a dictConfig does',
  'log = logging.getLogger("project"); log.addHandler(fh); log.propagate = False',
  'db = sqlite3.connect("data/app.db", check_same_thread=False)',
  'db.execute("create table if not exists t (x)")',
  'def handler(event, context):',
  '    db.execute("insert into t values (1)"); db.commit(); log.warning("call")',
  '    try:',
  '        open("data/seed.txt", "a").write("changed")',
  '        seed = "appended"',
  '    except OSError as e:',
  '        seed = e.errno',
  '    return {"rows": db.execute("select count(*) from t").fetchone()[0], "log": os.path.getsize("logs/app.log"),',
  '            "data": sorted(os.listdir("data")), "deep": sorted(os.listdir("data/deep")), "seed": seed,',
  '            "seedText": open("data/seed.txt").read(), "new": open("data/deep/new.txt", "w").write("n")}',
].join('\n');

describe('the working directory\'s folders', () => {
  const h = usePlatform({ poolSize: 1 });

  it('take new files in root mode; the deployed files in them stay as deployed', async (t) => {
    if (h.platform.isolation.mode !== 'root') return t.skip('the writable layer needs root mode (a uid of its own owns it)');
    const name = fnName('workdirs');
    await deployed(h.api, name, {
      'main.py': PROJECT, 'data/.gitkeep': '', 'data/seed.txt': 'seed', 'data/deep/.gitkeep': '', 'logs/.gitkeep': '',
    });
    const res = await fetch(`${h.url}/fn/${name}/`);
    const body = await res.text();
    assert.equal(res.status, 200, body);
    const out = JSON.parse(body) as { rows: number; log: number; data: string[]; deep: string[]; seed: unknown; seedText: string; new: number };
    assert.equal(out.rows, 1);
    assert.ok(out.log > 0, 'the log file was written');
    assert.deepEqual(out.data, ['.gitkeep', 'app.db', 'deep', 'seed.txt']);
    assert.deepEqual(out.deep, ['.gitkeep']);
    assert.equal(out.new, 1, 'a folder two levels down takes a new file');
    assert.equal(out.seed, 13, 'a deployed file is not the function\'s to change (EACCES)');
    assert.equal(out.seedText, 'seed');
  });
});

// Files an app writes have FP_SANDBOX_TMP_BYTES per instance (apps round 23): FastAPI's upload tutorial
// saving each file to /tmp/uploads answered 500 from the 13th 5 MB upload (`[Errno 28] No space left
// on device`), a 70 MiB report written to /tmp failed with `[Errno 27] File too large`, where under
// uvicorn the disk had room and nothing said why. The run record's message says it (fp_runtime/errors.py).
/**
 * What a box's own /tmp holds before the function writes there: nothing, but where the platform's
 * interpreter (its virtual environment) or runtime lives under the host's /tmp, as a CI clone at
 * /tmp/ci-clone16 does, the first name of that path: they are bound read-only at their own paths,
 * over the box's /tmp (fp_sandbox/view.py `build`). That was the entry a CI run found (loose4).
 */
function platformUnderTmp(): string[] {
  const config = defaultPoolConfig({});
  const paths = [dirname(dirname(config.pythonPath)), dirname(config.runtimeEntry)].map((p) => realpathSync(p));
  return [...new Set(paths.filter((p) => p.startsWith('/tmp/')).map((p) => p.split('/')[2]!))].sort();
}

describe('a full /tmp, a file past the cap', () => {
  const TMP = 4 * 1024 * 1024;
  const h = usePlatform({ poolSize: 1, sandboxTmpBytes: TMP });
  /** The error of the run a call that must answer 500 made. */
  const failedRunError = async (name: string, path: string): Promise<{ type?: string; message?: string }> => {
    const res = await fetch(`${h.url}/fn/${name}${path}`);
    assert.equal(res.status, 500, await res.clone().text());
    await res.text();
    const run = await h.api.call('GET', `/runs/${res.headers.get('x-run-id')}`);
    return (run.body as { run: { error?: { type?: string; message?: string } } }).run.error ?? {};
  };

  it("is said in the run record with the box's cap (apps round 23)", async () => {
    const name = fnName('tmpfull');
    const code = [
      'import os',
      'def handler(event, context):',
      '    if event["path"] == "/big":',
      '        with open("/dev/shm/report.bin", "wb") as f:',
      `            f.write(b"r" * ${TMP + 1024})`,
      '    there = sorted(os.listdir("/tmp"))',
      '    n = sum(1 for f in there if f.startswith("upload"))',
      '    with open(f"/tmp/upload{n}.bin", "wb") as f:',
      `        f.write(b"u" * ${TMP / 2 + 1024})`,
      '    return {"saved": n, "there": there}',
    ].join('\n');
    await deployed(h.api, name, { 'main.py': code });
    const message = async (path: string): Promise<string> => (await failedRunError(name, path)).message ?? '';
    const said = /\[the instance's \/tmp, \/dev\/shm and working directory hold 4 MiB each, and no file may grow past it: stream what you generate, remove files once sent, keep uploads outside the instance, or have the platform's operator raise FP_SANDBOX_TMP_BYTES \(docs\/api-invoke\.md, "Files the app writes"\)\]$/;
    // One write past the cap: RLIMIT_FSIZE's EFBIG, or the tmpfs's ENOSPC if its blocks run out first.
    assert.match(await message('/big'), new RegExp(`^\\[Errno (27\\] File too large|28\\] No space left on device) ${said.source}`));
    const first = await (await fetch(`${h.url}/fn/${name}/`)).json() as { saved: number; there: string[] };
    assert.equal(first.saved, 0, `the first upload fits (/tmp held ${JSON.stringify(first.there)})`);
    assert.deepEqual(first.there, platformUnderTmp(), "/tmp held nothing before the first upload but the platform's own paths under the host's /tmp");
    assert.match(await message('/'), new RegExp(`^\\[Errno 28\\] No space left on device ${said.source}`));
  });

  it('is said for SQLite\'s "database or disk is full" too (apps round 13)', async () => {
    const name = fnName('dbfull');
    const code = [
      'import sqlite3',
      'def handler(event, context):',
      '    with open("/dev/shm/filler.bin", "wb") as f:',
      `        f.write(b"f" * ${TMP - 512 * 1024})`,
      '    db = sqlite3.connect("/dev/shm/app.db")',
      '    db.execute("create table t (b blob)")',
      '    for _ in range(64):',
      '        db.execute("insert into t values (?)", (b"x" * 65536,))',
      '        db.commit()',
      '    return {"full": False}',
    ].join('\n');
    await deployed(h.api, name, { 'main.py': code });
    const error = await failedRunError(name, '/');
    assert.equal(error?.type, 'OperationalError', JSON.stringify(error));
    assert.match(error?.message ?? '', /^database or disk is full \[the instance's \/tmp, \/dev\/shm and working directory hold 4 MiB each, .* raise FP_SANDBOX_TMP_BYTES /);
  });
});
