/**
 * The admission limiter conformance suite (controlplane/limits, docs/adr/0011-tenants.md): every
 * adapter (in memory; Redis, also with two limiters on one Redis standing for two processes) must
 * admit exactly the burst of a bucket and exactly a workspace's calls per minute under concurrent
 * calls, and take a bucket's token and a minute's call together or not at all.
 *
 *   limiterConformance('memory', async () => ({ limiters: [new MemoryLimiter()], close: async () => {} }), { beforeMinuteEnds });
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { describe, it } from 'node:test';
import type { AdmissionLimiter, Bucket, LimitVerdict } from '../../controlplane/limits/index.js';

export interface LimiterFixture {
  /** One or more limiters sharing their state (processes of one platform); calls are spread over them. */
  limiters: AdmissionLimiter[];
  close(): Promise<void>;
}

export interface LimiterHooks {
  /** Resolves at a moment with at least ~15 s left in the current minute of the limiter's clock. */
  beforeMinuteEnds(): Promise<void>;
}

const id = (prefix: string): string => `${prefix}-${randomBytes(3).toString('hex')}`;

async function admitMany(f: LimiterFixture, n: number, workspace: string, bucket: Bucket | null, perMinute: number | null): Promise<LimitVerdict[]> {
  return Promise.all(Array.from({ length: n }, (_, i) => Promise.resolve(f.limiters[i % f.limiters.length]!.admit(workspace, bucket, perMinute))));
}

const ok = (verdicts: readonly LimitVerdict[]): number => verdicts.filter((v) => v.ok).length;

export function limiterConformance(name: string, open: () => Promise<LimiterFixture>, hooks: LimiterHooks): void {
  describe(`admission limiter conformance: ${name}`, () => {
    it('admits exactly the burst of a bucket among 200 concurrent calls, then says when to retry', async (t) => {
      const f = await open();
      t.after(() => f.close());
      const bucket: Bucket = { fn: id('fn'), requests: 1, periodMs: 3_600_000, burst: 50 };
      const verdicts = await admitMany(f, 200, id('ws'), bucket, null);
      assert.equal(ok(verdicts), 50);
      for (const v of verdicts) {
        if (v.ok) continue;
        assert.equal(v.reason, 'rate');
        assert.ok(v.retryAfterMs > 0 && v.retryAfterMs <= 3_600_000, String(v.retryAfterMs));
      }
    });

    it("admits exactly a workspace's calls per minute, for all its functions together, and counts them", async (t) => {
      const f = await open();
      t.after(() => f.close());
      const workspace = id('ws');
      await hooks.beforeMinuteEnds();
      const verdicts = await admitMany(f, 100, workspace, null, 30);
      assert.equal(ok(verdicts), 30);
      const refused = verdicts.find((v) => !v.ok);
      assert.ok(refused !== undefined && !refused.ok);
      assert.deepEqual([refused.reason, refused.used], ['quota', 30]);
      assert.ok(refused.retryAfterMs > 0 && refused.retryAfterMs <= 60_000);
      assert.equal(await f.limiters[0]!.minuteCount(workspace), 30);
      // Another workspace has its own minute.
      assert.equal(ok(await admitMany(f, 5, id('ws'), null, 30)), 5);
    });

    it('takes the token and the minute call together, or neither', async (t) => {
      const f = await open();
      t.after(() => f.close());
      await hooks.beforeMinuteEnds();
      // The minute quota binds first: refused calls leave the bucket's tokens.
      const workspace = id('ws');
      const bucket: Bucket = { fn: id('fn'), requests: 1, periodMs: 3_600_000, burst: 5 };
      assert.equal(ok(await admitMany(f, 10, workspace, bucket, 3)), 3);
      assert.equal(ok(await admitMany(f, 10, workspace, bucket, 100)), 2, 'the 2 tokens left are still there');
      // The bucket binds first: refused calls are not counted in the minute.
      const other = id('ws');
      const small: Bucket = { fn: id('fn'), requests: 1, periodMs: 3_600_000, burst: 2 };
      assert.equal(ok(await admitMany(f, 5, other, small, 10)), 2);
      assert.equal(await f.limiters[0]!.minuteCount(other), 2);
    });

    it('admits everything with neither a bucket nor a quota', async (t) => {
      const f = await open();
      t.after(() => f.close());
      assert.equal(ok(await admitMany(f, 20, id('ws'), null, null)), 20);
    });
  });
}
