/**
 * Address space is not memory (ADR 0202): in a box whose memory a cgroup bounds, a function may
 * reserve address space it never touches, as numpy's, pandas' and polars' libraries do (apps round
 * 26: pandas 3 reading a 4 MB Parquet file and polars a 6 MB CSV reserved 2.6 GB for 218 MB
 * resident, and failed at 256Mi: "OS can't spawn worker thread", ArrowMemoryError). What it
 * touches is still bounded: past `limits.memory` the kernel stops it (FUNCTION_OUT_OF_MEMORY).
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { PoolManager } from '../../poolmgr/index.js';
import { ev, fnVersion, openPool, py, removeFunction, writeFunction } from './poolmgr-harness.js';

/** `reserve` MiB mapped and one page written (an allocator's arena); `touch` MiB written page by page. */
const RESERVING = py(
  'import mmap',
  'def handler(event, context):',
  '    q = event["query"]',
  '    m = mmap.mmap(-1, int(q["reserve"]) << 20)',
  '    m[0] = 1',
  '    for i in range(0, int(q.get("touch", "0")) << 20, 4096): m[i] = 1',
  '    return {"reserved": len(m)}',
);

const MEMORY = 64 * 1024 * 1024;

describe('memory: address space in a box a memory cgroup bounds', () => {
  let pool: PoolManager;
  let dir: string;
  before(async () => {
    pool = await openPool({ poolSize: 1 });
    dir = await writeFunction({ 'main.py': RESERVING });
  });
  after(async () => {
    await pool.close();
    await removeFunction(dir);
  });

  it('lets a 64Mi function reserve 768 MiB it does not touch (a library\'s arenas and thread stacks)', async (t) => {
    if (pool.isolation.cgroups === null) return t.skip('no cgroups: RLIMIT_AS is the memory limit here');
    const result = await pool.invoke(fnVersion(dir, { memoryBytes: MEMORY }), ev({ reserve: '768' }));
    assert.equal(result.error, null, JSON.stringify(result.error));
    assert.equal(result.response?.status, 200);
    assert.deepEqual(JSON.parse(Buffer.from(result.response!.body).toString()), { reserved: 768 << 20 });
  });

  it('still stops a function that touches more than its memory limit: FUNCTION_OUT_OF_MEMORY, naming the limit', async (t) => {
    if (pool.isolation.cgroups === null) return t.skip('no cgroups: RLIMIT_AS is the memory limit here');
    const result = await pool.invoke(fnVersion(dir, { memoryBytes: MEMORY, timeoutMs: 20_000 }), ev({ reserve: '512', touch: '512' }));
    // A loaded machine may report the lost connection before the OOM kill (poolmgr-logs says the same).
    const code = result.error?.type === 'ConnectionLost' ? 'FUNCTION_OUT_OF_MEMORY' : result.error?.code;
    assert.equal(code, 'FUNCTION_OUT_OF_MEMORY', JSON.stringify(result.error));
    if (result.error?.type !== 'ConnectionLost') assert.match(result.error!.message, /64 ?Mi/);
  });

  it('refuses a reservation past sixteen times the limit with a MemoryError-class failure, not a kill', async (t) => {
    if (pool.isolation.cgroups === null) return t.skip('no cgroups: RLIMIT_AS is the memory limit here');
    const result = await pool.invoke(fnVersion(dir, { memoryBytes: MEMORY }), ev({ reserve: String(64 * 32) }));
    assert.ok(result.error !== null, 'the reservation should fail');
    assert.match(`${result.error.type}: ${result.error.message}`, /OSError|MemoryError|Cannot allocate memory/);
  });
});
