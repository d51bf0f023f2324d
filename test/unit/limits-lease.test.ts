/**
 * Leases of the shared limiter (controlplane/limits/lease.ts, docs/adr/0022-limiter-leases.md) on
 * a fake shared state and a fake clock: sized to the limits (low limits are not leased), spent
 * here without a round trip, shared by the callers waiting for one take, never spent past their
 * window or their minute, and given back when they expire, when the limits change and on close.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { LeaseLedger, leaseSize, MAX_LEASE, type Bucket, type Grant, type LimitVerdict } from '../../controlplane/limits/index.js';

const bucket = (requests: number, periodMs: number, burst: number, fn = 'f'): Bucket => ({ fn, requests, periodMs, burst });

/** A shared state with `tokens` admissions; it records every take and give. */
function fakeSource(tokens: number, extra: Partial<{ validMs: number; minute: number }> = {}) {
  const state = { tokens, takes: [] as number[], gives: [] as { count: number; minute: number }[] };
  return {
    state,
    source: {
      async take(_w: string, _b: Bucket | null, _p: number | null, want: number): Promise<Grant> {
        state.takes.push(want);
        if (state.tokens < 1) return { kind: 'verdict', verdict: { ok: false, reason: 'rate', retryAfterMs: 1234, used: 0 } };
        const count = Math.min(want, state.tokens);
        state.tokens -= count;
        return { kind: 'granted', count, validMs: extra.validMs ?? 60_000, minute: extra.minute ?? 7 };
      },
      async give(_w: string, _b: Bucket | null, _p: number | null, count: number, minute: number): Promise<void> {
        state.tokens += count;
        state.gives.push({ count, minute });
      },
    },
  };
}

const ok = (verdicts: readonly LimitVerdict[]): number => verdicts.filter((v) => v.ok).length;

describe('limiter leases', () => {
  it('are sized to the limits: low limits take one admission per call (exact), high ones up to MAX_LEASE', () => {
    assert.equal(leaseSize(bucket(5, 60_000, 5), null, 100), 1, '5/min');
    assert.equal(leaseSize(bucket(1, 3_600_000, 50), null, 100), 1, '1/h with a burst of 50');
    assert.equal(leaseSize(bucket(19, 1000, 100), null, 100), 1, 'under 20/s: 100 ms of it is under 2');
    assert.equal(leaseSize(bucket(100, 1000, 100), null, 100), 10, '100/s: 100 ms of it');
    assert.equal(leaseSize(bucket(1000, 1000, 8), null, 100), 2, 'a quarter of a small burst');
    assert.equal(leaseSize(bucket(1_000_000, 1000, 1_000_000), null, 100), MAX_LEASE);
    assert.equal(leaseSize(null, 50, 100), 1, 'a quota of 50/min');
    assert.equal(leaseSize(null, 60_000, 100), MAX_LEASE, 'a quota of 1000/s');
    assert.equal(leaseSize(bucket(1_000_000, 1000, 1_000_000), 12_000, 100), 20, 'the stricter of bucket and quota');
  });

  it('leave low limits to the caller', () => {
    const ledger = new LeaseLedger(fakeSource(100).source);
    assert.equal(ledger.admit('ws', bucket(5, 60_000, 5), null), null);
    assert.equal(ledger.admit('ws', null, 50), null);
  });

  it('spend a lease without a round trip, synchronously, one take per lease', async (t) => {
    const now = 1_000_000;
    const { source, state } = fakeSource(1_000_000);
    const ledger = new LeaseLedger(source, { now: () => now });
    t.after(() => ledger.close());
    const b = bucket(1_000_000, 1000, 1_000_000);
    let sync = 0;
    for (let i = 0; i < 640; i++) {
      const v = ledger.admit('ws', b, null);
      assert.notEqual(v, null);
      if (v instanceof Promise) assert.equal((await v).ok, true);
      else {
        assert.equal(v!.ok, true);
        sync++;
      }
    }
    assert.deepEqual(state.takes, Array(10).fill(MAX_LEASE));
    assert.equal(sync, 630);
  });

  it('share one take among the callers waiting for it; its refusal is theirs', async (t) => {
    const { source, state } = fakeSource(30);
    const ledger = new LeaseLedger(source);
    t.after(() => ledger.close());
    const b = bucket(1_000_000, 1000, 1_000_000);
    const verdicts = await Promise.all(Array.from({ length: 100 }, () => Promise.resolve(ledger.admit('ws', b, null)!)));
    assert.equal(ok(verdicts), 30, 'exactly what the shared state had');
    assert.ok(verdicts.filter((v) => !v.ok).every((v) => !v.ok && v.reason === 'rate' && v.retryAfterMs === 1234));
    // A lease (the state had 30 of it), then one take for the 70 still waiting: refused, for all of them.
    assert.deepEqual(state.takes, [MAX_LEASE, 70]);
  });

  it('are not spent past their window: what is left goes back, then a new lease is taken', async (t) => {
    let now = 1_000_000;
    const { source, state } = fakeSource(1000);
    const ledger = new LeaseLedger(source, { now: () => now, windowMs: 100 });
    t.after(() => ledger.close());
    const b = bucket(1_000_000, 1000, 1_000_000);
    assert.equal((await ledger.admit('ws', b, null)!).ok, true);
    assert.equal((ledger.admit('ws', b, null) as LimitVerdict).ok, true, 'spent from the lease');
    now += 100;
    assert.equal((await ledger.admit('ws', b, null)!).ok, true);
    assert.deepEqual(state.gives, [{ count: MAX_LEASE - 2, minute: -1 }]);
    assert.equal(state.takes.length, 2);
  });

  it('go back when their window ends, with nobody calling', async (t) => {
    const { source, state } = fakeSource(1000);
    const ledger = new LeaseLedger(source, { windowMs: 20 });
    t.after(() => ledger.close());
    assert.equal((await ledger.admit('ws', bucket(1_000_000, 1000, 1_000_000), null)!).ok, true);
    for (let i = 0; i < 100 && state.gives.length === 0; i++) await new Promise((r) => setTimeout(r, 10));
    assert.deepEqual(state.gives, [{ count: MAX_LEASE - 1, minute: -1 }]);
    assert.equal(state.tokens, 999);
  });

  it('of quota calls never outlive the minute they were counted in, and go back to it', async (t) => {
    let now = 1_000_000;
    // The shared state says its minute ends 5 ms after the take.
    const { source, state } = fakeSource(1000, { validMs: 5, minute: 42 });
    const ledger = new LeaseLedger(source, { now: () => now });
    t.after(() => ledger.close());
    assert.equal((await ledger.admit('ws', null, 600_000)!).ok, true);
    now += 5;
    assert.ok(ledger.admit('ws', null, 600_000) instanceof Promise, 'the minute is over: a new take');
    assert.deepEqual(state.gives[0], { count: MAX_LEASE - 1, minute: 42 });
  });

  it('go back when the limits change, and the new limits take their own', async (t) => {
    const { source, state } = fakeSource(1000);
    const ledger = new LeaseLedger(source);
    t.after(() => ledger.close());
    assert.equal((await ledger.admit('ws', bucket(1_000_000, 1000, 1_000_000), null)!).ok, true);
    assert.equal((await ledger.admit('ws', bucket(500, 1000, 1000), null)!).ok, true);
    assert.deepEqual(state.gives, [{ count: MAX_LEASE - 1, minute: -1 }]);
    assert.deepEqual(state.takes, [MAX_LEASE, 50]);
  });

  it('all go back on close', async () => {
    const { source, state } = fakeSource(1000);
    const ledger = new LeaseLedger(source);
    assert.equal((await ledger.admit('ws', bucket(1_000_000, 1000, 1_000_000, 'a'), null)!).ok, true);
    assert.equal((await ledger.admit('ws', null, 600_000)!).ok, true);
    await ledger.close();
    assert.equal(state.tokens, 998);
    assert.equal(state.gives.length, 2);
  });
});
