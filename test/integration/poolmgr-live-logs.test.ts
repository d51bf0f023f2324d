/**
 * Live lines from the pool (PoolHooks.logTap) with real runtimes, read through the embedded log
 * feed: a tailed function's lines arrive while its call still runs — also for a call then killed
 * by its timeout — and each line's index is its place in the run's record `logs` (import-time
 * lines of a cold start first), so live and stored lines of a run can be joined exactly.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { MemoryLogFeed, type FeedSubscription } from '../../controlplane/logs/index.js';
import { defaultPoolConfig, PoolManager } from '../../poolmgr/index.js';
import { tmpdir } from 'node:os';
import { ev, fnVersion, py, removeFunction, writeFunction } from './poolmgr-harness.js';

const HANDLER = py(
  'import time, logging',
  'print("imported")',
  'def handler(event, context):',
  '    q = event["query"]',
  '    for i in range(int(q.get("n", "3"))):',
  '        print(event["requestId"], "line", i)',
  '        time.sleep(float(q.get("gap", "0.06")))',
  '    logging.getLogger("app").warning("%s done", event["requestId"])',
  '    if q.get("hang"): time.sleep(60)',
  '    return 1',
);

interface Seen {
  runId: string;
  i: number;
  msg: string;
}

/** Reads line events until `done` says enough. */
async function collect(sub: FeedSubscription, done: (seen: Seen[]) => boolean): Promise<Seen[]> {
  const seen: Seen[] = [];
  const signal = AbortSignal.timeout(30_000);
  while (!done(seen)) {
    const read = await sub.next(signal);
    assert.ok(read !== null);
    for (const e of read.entries) if (e.event.kind === 'lines') for (const l of e.event.lines) seen.push({ runId: e.event.runId, i: l.i, msg: l.msg });
  }
  return seen;
}

describe('poolmgr: live lines of tailed functions', () => {
  let feed: MemoryLogFeed;
  let pool: PoolManager;
  let dir: string;
  before(async () => {
    feed = new MemoryLogFeed();
    pool = new PoolManager(defaultPoolConfig({ poolSize: 1, shutdownGraceMs: 1000, codeRoots: [tmpdir()] }), undefined, { logTap: feed });
    await pool.start();
    dir = await writeFunction({ 'main.py': HANDLER });
  });
  after(async () => {
    await pool.close();
    await feed.close();
    await removeFunction(dir);
  });

  it('indexes every live line by its place in the record, for concurrent calls on one instance', async () => {
    const fn = fnVersion(dir, { concurrency: 2, maxInstances: 1 });
    const sub = await feed.subscribe(fn.name, null);
    const [a, b] = [ev({ n: '4' }), ev({ n: '2' })];
    const results = await Promise.all([pool.invoke(fn, a), pool.invoke(fn, b)]);
    const seen = await collect(sub, (s) => s.length >= results[0]!.logs.length + results[1]!.logs.length);
    for (const [call, result] of [[a, results[0]!], [b, results[1]!]] as const) {
      const live = seen.filter((s) => s.runId === call.requestId).sort((x, y) => x.i - y.i);
      assert.deepEqual(live.map((s) => s.i), result.logs.map((_, i) => i));
      assert.deepEqual(live.map((s) => s.msg), result.logs.map((l) => l.msg));
    }
    assert.ok(results[0]!.logs.some((l) => l.msg === 'imported'), 'the cold call has the import line first');
    sub.close();
  });

  it('a call\'s lines arrive while it runs, also when its timeout then kills it', async () => {
    const fn = fnVersion(dir, { timeoutMs: 3000 });
    const sub = await feed.subscribe(fn.name, null);
    const call = ev({ n: '1', hang: '1' });
    let settled = false;
    const pending = pool.invoke(fn, call).then((r) => {
      settled = true;
      return r;
    });
    const seen = await collect(sub, (s) => s.some((x) => x.msg.endsWith('done')));
    assert.equal(settled, false, 'the lines came while the call was still running');
    const result = await pending;
    assert.equal(result.error?.code, 'FUNCTION_TIMEOUT');
    assert.deepEqual(seen.map((s) => s.msg), result.logs.map((l) => l.msg));
    sub.close();
  });

  it('publishes nothing for a function nobody tails', async () => {
    const fn = fnVersion(dir);
    const result = await pool.invoke(fn, ev({ n: '1', gap: '0' }));
    assert.ok(result.logs.length > 0);
    assert.equal(feed.wants(fn.name), false);
    assert.equal(feed.stats().functions, 2, 'only the two tailed functions have rings');
  });
});
