/**
 * The host's open-file table (poolmgr/file-table.ts, red team of 2026-12-05): while it is more
 * than half full, the instance holding a tenth of it or more is stopped with FUNCTION_FILE_LIMIT,
 * and the next call runs on a new one. Real runtimes and real open files; the table's size is the
 * one thing made small (this machine's holds 2.4 million files: filling half of it is not a test),
 * by a reader that says it is always half full, twice what is open.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { fileTable, openFiles, overFileShare } from '../../poolmgr/file-table.js';
import type { PoolManager } from '../../poolmgr/index.js';
import { ev, fnVersion, openPool, py, removeFunction, writeFunction } from './poolmgr-harness.js';

const HOLDER = py(
  'import os, time',
  'def handler(event, context):',
  '    if event["query"].get("hold") != "1":',
  '        return {"ok": True}',
  '    for _ in range(16):',
  '        if os.fork() == 0:',
  '            fds = [os.open("/dev/null", os.O_RDONLY) for _ in range(1000)]',
  '            time.sleep(60)',
  '            os._exit(0)',
  '    time.sleep(30)',
  '    return {"held": True}',
);

describe('poolmgr: the host\'s open-file table', () => {
  let pool: PoolManager;
  let dir: string;
  before(async () => {
    pool = await openPool({
      poolSize: 1, reapIntervalMs: 200,
      fileTable: () => {
        const real = fileTable();
        return real === null ? null : { allocated: real.allocated, max: 2 * real.allocated };
      },
    });
    dir = await writeFunction({ 'main.py': HOLDER });
  });
  after(async () => {
    await pool.close();
    await removeFunction(dir);
  });

  it('reads the table, counts a process\'s files, and picks only a holder of a tenth of it', () => {
    const table = fileTable();
    assert.ok(table !== null && table.allocated > 0 && table.max > table.allocated);
    assert.ok(openFiles([process.pid]) > 3);
    assert.equal(openFiles([2 ** 30]), 0, 'a process gone counts nothing');
    assert.equal(overFileShare({ allocated: 40, max: 100 }, [{ of: 'a', owner: 'w1', files: 30 }]), null, 'under half full: nothing');
    assert.equal(overFileShare({ allocated: 60, max: 100 }, [{ of: 'a', owner: 'w1', files: 9 }, { of: 'b', owner: 'w2', files: 9 }]), null, 'no workspace holds a tenth');
    assert.deepEqual(overFileShare({ allocated: 60, max: 100 }, [{ of: 'a', owner: 'w1', files: 12 }, { of: 'b', owner: 'w2', files: 30 }]), { of: 'b', owner: 'w2', files: 30, ownerFiles: 30 });
    // Many instances each under a tenth are one workspace over it: its biggest goes.
    const spread = [4, 3, 5, 2].map((files, i) => ({ of: `s${i}`, owner: 'many', files }));
    assert.deepEqual(overFileShare({ allocated: 60, max: 100 }, [...spread, { of: 'x', owner: 'one', files: 9 }]), { of: 's2', owner: 'many', files: 5, ownerFiles: 14 });
  });

  it('stops the instance holding a tenth of a more than half full table with FUNCTION_FILE_LIMIT; the next call works', { timeout: 60_000 }, async () => {
    const fn = fnVersion(dir, { timeoutMs: 50_000, memoryBytes: 512 * 1024 * 1024 });
    const result = await pool.invoke(fn, ev({ hold: '1' }));
    assert.equal(result.error?.code, 'FUNCTION_FILE_LIMIT', JSON.stringify(result.error));
    assert.match(result.error!.message, /held \d+ open files \(its workspace \d+\), while the host's table/);
    const next = await pool.invoke(fn, ev());
    assert.equal(next.error, null);
    assert.notEqual(next.instanceId, result.instanceId);
  });
});
