/**
 * What the pool shows beside a call's result, with real runtimes: tapLogs() listeners get the
 * lines a running call streams, in order, with its function and run id, before the call ends;
 * prepare() compiles a version's bytecode in the kept compiler process (requests at once each get
 * served), says false for a folder that does not compile, and close() ends the compiler.
 */
import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { FunctionVersion, PoolManager } from '../../poolmgr/index.js';
import type { LogLine } from '../../protocol/index.js';
import { ev, fnVersion, openPool, py, removeFunction, writeFunction } from './poolmgr-harness.js';

/** Prints a line, waits past several flush intervals (so the line is streamed), prints another. */
const LOGGING = py(
  'import time',
  'def handler(event, context):',
  '    print("first", event["requestId"])',
  '    time.sleep(float(event["query"].get("sleep", "0.4")))',
  '    print("last")',
  '    return 1',
);

describe('poolmgr: log taps and prepare', () => {
  let pool: PoolManager;
  const dirs: string[] = [];
  before(async () => {
    pool = await openPool({ poolSize: 1 });
  });
  after(async () => {
    await pool.close();
    for (const dir of dirs) await removeFunction(dir);
  });

  it('a tap gets the lines a running call streams, before the call ends, with the function and run id', async () => {
    const dir = await writeFunction({ 'main.py': LOGGING });
    dirs.push(dir);
    const fn = fnVersion(dir);
    const seen: { fn: FunctionVersion; runId: string; lines: readonly LogLine[]; ended: boolean }[] = [];
    let ended = false;
    const untap = pool.tapLogs((f, runId, lines) => seen.push({ fn: f, runId, lines, ended }));
    const call = ev({ sleep: '0.4' });
    const result = await pool.invoke(fn, call);
    ended = true;
    untap();
    assert.equal(result.error, null);
    const streamed = seen.flatMap((s) => s.lines.map((l) => l.msg));
    assert.deepEqual(streamed, [`first ${call.requestId}`], 'the first line streamed; the last came with the reply');
    assert.ok(seen.every((s) => s.fn.name === fn.name && s.runId === call.requestId && !s.ended));
    // The result's logs hold the same line objects, then the reply's.
    assert.equal(result.logs[0], seen[0]!.lines[0]);
    assert.deepEqual(result.logs.map((l) => l.msg), [`first ${call.requestId}`, 'last']);
  });

  it('a removed tap gets nothing, and a tap that throws breaks nothing', async () => {
    const dir = await writeFunction({ 'main.py': LOGGING });
    dirs.push(dir);
    let removedGot = 0;
    const untap = pool.tapLogs(() => removedGot++);
    untap();
    const untapThrowing = pool.tapLogs(() => {
      throw new Error('listener bug');
    });
    const result = await pool.invoke(fnVersion(dir), ev({ sleep: '0.3' }));
    untapThrowing();
    assert.equal(result.error, null);
    assert.equal(removedGot, 0);
  });

  it('prepare() compiles a folder (and its subfolders) in the kept compiler, true; a syntax error gives false', async () => {
    const good = await writeFunction({ 'main.py': py('def handler(event, context):', '    return 1'), 'lib/util.py': 'X = 1\n' });
    const bad = await writeFunction({ 'main.py': 'def handler(:\n' });
    dirs.push(good, bad);
    assert.equal(await pool.prepare(good), true);
    assert.ok(readdirSync(join(good, '__pycache__')).some((f) => f.startsWith('main.')));
    assert.ok(readdirSync(join(good, 'lib', '__pycache__')).some((f) => f.startsWith('util.')));
    assert.equal(await pool.prepare(bad), false);
    // The compiler goes on serving after a failure.
    const again = await writeFunction({ 'main.py': 'Y = 2\n' });
    dirs.push(again);
    assert.equal(await pool.prepare(again), true);
    assert.equal(existsSync(join(again, '__pycache__')), true);
  });

  it('requests at once are all served (one by the kept compiler, the others by processes of their own)', async () => {
    const folders = await Promise.all([1, 2, 3].map((i) => writeFunction({ 'main.py': `V = ${i}\n` })));
    dirs.push(...folders);
    assert.deepEqual(await Promise.all(folders.map((d) => pool.prepare(d))), [true, true, true]);
    for (const d of folders) assert.equal(existsSync(join(d, '__pycache__')), true, d);
  });

  it('close() ends the compiler process', async () => {
    const own = await openPool({ poolSize: 1 });
    const dir = await writeFunction({ 'main.py': 'Z = 3\n' });
    dirs.push(dir);
    assert.equal(await own.prepare(dir), true);
    assert.equal(compilerChildren().length >= 1, true);
    await pool.close(); // the shared pool's compiler too, so none of ours is left
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
