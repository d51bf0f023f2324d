/**
 * prepare() with real runtimes: it compiles a version's bytecode in the kept compiler process (requests at once each get
 * served), says false for a folder that does not compile, and close() ends the compiler. expect() (also a deploy's)
 * decides the version's preset, which its cold starts then take without reading its files.
 */
import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { ev, fnVersion, openPool, py, usePool, writeFunction } from './poolmgr-harness.js';

describe('poolmgr: prepare (the kept bytecode compiler)', () => {
  const site = usePool({ poolSize: 1 });
  const { dirs } = site;

  it('prepare() compiles a folder (and its subfolders) in the kept compiler, true; a syntax error gives false', async () => {
    const good = await writeFunction({ 'main.py': py('def handler(event, context):', '    return 1'), 'lib/util.py': 'X = 1\n' });
    const bad = await writeFunction({ 'main.py': 'def handler(:\n' });
    dirs.push(good, bad);
    assert.equal(await site.pool.prepare(good), true);
    assert.ok(readdirSync(join(good, '__pycache__')).some((f) => f.startsWith('main.')));
    assert.ok(readdirSync(join(good, 'lib', '__pycache__')).some((f) => f.startsWith('util.')));
    assert.equal(await site.pool.prepare(bad), false);
    // The compiler goes on serving after a failure.
    const again = await writeFunction({ 'main.py': 'Y = 2\n' });
    dirs.push(again);
    assert.equal(await site.pool.prepare(again), true);
    assert.equal(existsSync(join(again, '__pycache__')), true);
  });

  it('requests at once are all served (one by the kept compiler, the others by processes of their own)', async () => {
    const folders = await Promise.all([1, 2, 3].map((i) => writeFunction({ 'main.py': `V = ${i}\n` })));
    dirs.push(...folders);
    assert.deepEqual(await Promise.all(folders.map((d) => site.pool.prepare(d))), [true, true, true]);
    for (const d of folders) assert.equal(existsSync(join(d, '__pycache__')), true, d);
  });

  it('expect() decides the preset at the deploy: the first cold start takes it from there, not from the files', async () => {
    const dir = await writeFunction({ 'main.py': py('def handler(event, context):', '    return {"ok": True}') });
    dirs.push(dir);
    await site.pool.expect(dir, 'main:handler'); // what a deploy does: default, decided now
    // Read at the call, the files would now say fastapi (versions never change: this only shows
    // the call does not read them) and the version would not take the pooled default runtime.
    await writeFile(join(dir, 'main.py'), py('import fastapi', 'def handler(event, context):', '    return {"ok": True}'));
    const r = await site.pool.invoke(fnVersion(dir), ev());
    assert.equal(r.error, null);
    assert.equal(r.start, 'pool');
  });

  it('close() ends the compiler process', async () => {
    const own = await openPool({ poolSize: 1 });
    const dir = await writeFunction({ 'main.py': 'Z = 3\n' });
    dirs.push(dir);
    assert.equal(await own.prepare(dir), true);
    assert.equal(compilerChildren().length >= 1, true);
    await site.pool.close(); // the shared pool's compiler too, so none of ours is left
    await own.close();
    assert.deepEqual(compilerChildren(), []);
  });
});

/** This process's children running the compiler (read from /proc). */
function compilerChildren(): number[] {
  return readdirSync('/proc').filter((p) => /^\d+$/.test(p)).filter((pid) => {
    try {
      const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      return ppid === process.pid && readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes('compileall');
    } catch {
      return false;
    }
  }).map(Number);
}
