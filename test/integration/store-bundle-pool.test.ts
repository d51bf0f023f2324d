/**
 * The bundle worker pool: a 20 MB bundle is decoded and hashed in a worker thread while the event
 * loop keeps ticking; errors cross the thread boundary with their code, path and field.
 */
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { BundlePool, checkBundle, type CheckedBundle } from '../../controlplane/bundles/index.js';

const pool = new BundlePool({ maxThreads: 2 });
after(() => pool.close());

const MiB = 1024 * 1024;
const GAP_LIMIT_MS = 50;

/** Runs `fn` while a 5 ms interval ticks; returns its result and the largest gap between ticks. */
async function withTicker<T>(fn: () => Promise<T> | T): Promise<{ value: T; maxGapMs: number; elapsedMs: number }> {
  let last = performance.now();
  let maxGapMs = 0;
  const timer = setInterval(() => {
    const now = performance.now();
    maxGapMs = Math.max(maxGapMs, now - last);
    last = now;
  }, 5);
  const started = performance.now();
  try {
    const value = await fn();
    const now = performance.now();
    return { value, maxGapMs: Math.max(maxGapMs, now - last), elapsedMs: now - started };
  } finally {
    clearInterval(timer);
  }
}

describe('bundle pool', () => {
  const contents = Array.from({ length: 20 }, () => randomBytes(MiB));
  const files = contents.map((data, i) => ({ path: `data/part-${i}.bin`, contentBase64: data.toString('base64') }));
  const expected = new Map(contents.map((data, i) => [`data/part-${i}.bin`, createHash('sha256').update(data).digest('hex')]));

  function assertHashed(bundle: CheckedBundle): void {
    assert.equal(bundle.files.length, 20);
    for (const file of bundle.files) {
      assert.equal(file.sha256, expected.get(file.path));
      assert.equal(file.size, MiB);
    }
    const first = bundle.files.find((f) => f.path === 'data/part-0.bin')!;
    assert.equal(Buffer.compare(Buffer.from(first.content!), contents[0]!), 0);
  }

  before(async () => {
    // Start both threads first: a pool's start-up is paid once per process, not per deploy.
    await Promise.all([pool.check({ 'a.py': '' }), pool.check({ 'b.py': '' })]);
  });

  it('hashes a 20 MB bundle off the event loop (no timer gap over 50 ms)', async (t) => {
    const inThread = await withTicker(() => checkBundle(files));
    t.diagnostic(`for comparison, on the event loop: ${inThread.elapsedMs.toFixed(1)} ms, largest gap ${inThread.maxGapMs.toFixed(1)} ms`);
    // Other processes on a small CI machine can deschedule this one; a stall of our own making
    // shows in every attempt, noise rarely in three running.
    const gaps: number[] = [];
    for (let attempt = 0; attempt < 3; attempt++) {
      const run = await withTicker(() => pool.check(files));
      assertHashed(run.value);
      gaps.push(run.maxGapMs);
      t.diagnostic(`in the pool: ${run.elapsedMs.toFixed(1)} ms, largest gap ${run.maxGapMs.toFixed(1)} ms`);
      if (run.maxGapMs < GAP_LIMIT_MS) break;
    }
    assert.ok(Math.min(...gaps) < GAP_LIMIT_MS, `the event loop stalled in every attempt: ${gaps.map((g) => g.toFixed(1)).join(', ')} ms`);
  });

  it('hashes a 20 MB request body (raw JSON) off the event loop', async (t) => {
    const text = JSON.stringify(files);
    const gaps: number[] = [];
    for (let attempt = 0; attempt < 3; attempt++) {
      const json = Buffer.from(text); // moved to the worker by checkJson, so a fresh one per attempt
      const run = await withTicker(() => pool.checkJson(json));
      assertHashed(run.value);
      gaps.push(run.maxGapMs);
      t.diagnostic(`raw JSON in the pool: ${run.elapsedMs.toFixed(1)} ms, largest gap ${run.maxGapMs.toFixed(1)} ms`);
      if (run.maxGapMs < GAP_LIMIT_MS) break;
    }
    assert.ok(Math.min(...gaps) < GAP_LIMIT_MS, `the event loop stalled in every attempt: ${gaps.map((g) => g.toFixed(1)).join(', ')} ms`);
  });

  it('brings a BundleError back from the worker with its code, path and field', async () => {
    await assert.rejects(pool.check([{ path: 'main.py', contentBase64: '' }, { path: 'a/../../etc/passwd', contentBase64: '' }]), (err: unknown) => {
      const e = err as { code: string; path: string; field: string; name: string };
      assert.deepEqual([e.code, e.path, e.field, e.name], ['BUNDLE_PATH_INVALID', 'a/../../etc/passwd', 'files[1].path', 'BundleError']);
      return true;
    });
    await assert.rejects(pool.check({ 'big.bin': Buffer.alloc(2048).toString('base64') }, { maxFileBytes: 1024 }), { code: 'BUNDLE_FILE_TOO_LARGE', path: 'big.bin' });
  });

  it('parses raw JSON in the worker', async () => {
    const small = Buffer.from(JSON.stringify({ 'main.py': Buffer.from('x = 1\n').toString('base64') }));
    const bundle = await pool.checkJson(small);
    assert.deepEqual(bundle.files.map((f) => f.path), ['main.py']);
    assert.equal(Buffer.from(bundle.files[0]!.content!).toString(), 'x = 1\n');
    assert.ok(small.byteLength > 0, 'a small (pooled) Buffer is copied, so the caller keeps it');
    const whole = new Uint8Array(Buffer.from(JSON.stringify([{ path: 'a.py', contentBase64: '' }])));
    assert.deepEqual((await pool.checkJson(whole)).files.map((f) => f.path), ['a.py']);
    assert.equal(whole.byteLength, 0, 'a buffer of its own is moved to the worker');
    await assert.rejects(pool.checkJson(Buffer.from('{"main.py": ')), { code: 'BUNDLE_MALFORMED' });
  });

  it('runs several checks at once', async () => {
    const results = await Promise.all(
      Array.from({ length: 6 }, (_, i) => pool.check({ [`f${i}.py`]: Buffer.from(`v = ${i}\n`).toString('base64') })),
    );
    assert.deepEqual(results.map((r) => r.files[0]!.path), ['f0.py', 'f1.py', 'f2.py', 'f3.py', 'f4.py', 'f5.py']);
  });
});
