/**
 * A function's working directory takes new files (issue 10, "real apps run unchanged": FastAPI's
 * SQL tutorial opens `sqlite:///database.db`): in root mode /code is an overlay of the version's
 * files and a tmpfs of the instance's own (fp_sandbox/enter.py). What an instance writes there
 * is its own: not another instance's, not the next version's, never the deployed files.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
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
