/** Conformance: RunStore. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { RunRecord } from '../../protocol/index.js';
import { RunRetention } from '../../controlplane/runs/retention.js';
import { rejectsWithCode, run, uniqueName, withStore, type OpenStore } from './fixtures.js';

const T0 = 1_700_000_000_000;

export function runTests(open: OpenStore): void {
  describe('runs', () => {
    it('records a batch and gets each run back exactly, with logs and error', () =>
      withStore(open, async (store) => {
        const failed = run({
          status: 'failed',
          cold: true,
          start: 'spawn',
          initMs: 41.5,
          httpStatus: 500,
          errorCode: 'FUNCTION_ERROR',
          errorClass: 'user_error',
          error: { type: 'ValueError', message: 'bad input', stack: 'Traceback…\n  File "main.py", line 3', file: 'main.py', line: 3 },
          logs: [
            { stream: 'stdout', ts: T0 + 1, msg: 'starting' },
            { stream: 'log', ts: T0 + 2, msg: 'oops ✗', level: 'ERROR' },
          ],
          trigger: 'test',
          clientAborted: true,
        });
        const ok = run({ start: null, logs: [] });
        await store.runs.record([failed, ok]);
        assert.deepEqual(await store.runs.get(failed.runId), failed);
        assert.deepEqual(await store.runs.get(ok.runId), ok);
        assert.equal(await store.runs.get('no-such-run'), null);
        await store.runs.record([]);
      }));

    it('keeps each attempt of an async run under the run id; lists show the newest, whatever order they arrive in', () =>
      withStore(open, async (store) => {
        const fn = uniqueName('att');
        const base = run({ function: fn, trigger: 'async' });
        const attempt = (n: number, extra: Partial<RunRecord> = {}): RunRecord => ({
          ...base, attempt: n, startedAt: T0 + n * 1000, logs: [{ stream: 'stdout', ts: T0 + n * 1000, msg: `attempt ${n}` }], ...extra,
        });
        const failed = { status: 'failed' as const, httpStatus: 500, errorCode: 'FUNCTION_ERROR' as const, errorClass: 'user_error' as const, error: { type: 'RuntimeError', message: 'no' } };
        // Attempt 3 arrives first (another process recorded it sooner), then 1, then 2.
        await store.runs.record([attempt(3)]);
        await store.runs.record([attempt(1, failed)]);
        await store.runs.record([attempt(2, failed)]);
        const page = await store.runs.list({ function: fn });
        assert.deepEqual(page.items.map((r) => [r.runId, r.attempt, r.status]), [[base.runId, 3, 'succeeded']]);
        assert.deepEqual(await store.runs.get(base.runId), attempt(3));
        const all = await store.runs.attempts(base.runId);
        assert.deepEqual(all, [attempt(1, failed), attempt(2, failed), attempt(3)]);
        assert.deepEqual(await store.runs.attempts('no-such-run'), []);
        // A sync run beside it is attempt 1, listed once.
        const sync = run({ function: fn, startedAt: T0 });
        await store.runs.record([sync]);
        assert.deepEqual((await store.runs.list({ function: fn })).items.map((r) => r.runId), [base.runId, sync.runId]);
        assert.deepEqual(await store.runs.attempts(sync.runId), [sync]);
      }));

    it('lists the newest attempt when several attempts of several runs come in one batch, in any order', () =>
      withStore(open, async (store) => {
        const fn = uniqueName('batch');
        const runs = [run({ function: fn, trigger: 'async' }), run({ function: fn, trigger: 'cron', startedAt: T0 + 10 })];
        const attempt = (r: RunRecord, n: number): RunRecord => ({ ...r, attempt: n, startedAt: r.startedAt + n });
        // Run A: 2 then 1 in one batch; run B: 1, 3, 2 in one batch.
        await store.runs.record([attempt(runs[0]!, 2), attempt(runs[1]!, 1), attempt(runs[0]!, 1), attempt(runs[1]!, 3), attempt(runs[1]!, 2)]);
        const listed = (await store.runs.list({ function: fn })).items.map((r) => [r.runId, r.attempt]).sort();
        assert.deepEqual(listed, [[runs[0]!.runId, 2], [runs[1]!.runId, 3]].sort());
        assert.deepEqual((await store.runs.attempts(runs[1]!.runId)).map((r) => r.attempt), [1, 2, 3]);
      }));

    it('replaces a run recorded again under the same id', () =>
      withStore(open, async (store) => {
        const first = run({ status: 'failed', httpStatus: 502 });
        await store.runs.record([first]);
        const second = { ...first, status: 'succeeded' as const, httpStatus: 200 };
        await store.runs.record([second]);
        assert.deepEqual(await store.runs.get(first.runId), second);
        assert.equal((await store.runs.list({ function: first.function, limit: 1000 })).items.filter((r) => r.runId === first.runId).length, 1);
      }));

    it('lists newest first without logs, filtered by function, status, trigger and time', () =>
      withStore(open, async (store) => {
        const a = uniqueName();
        const b = uniqueName();
        const runs: RunRecord[] = [
          run({ function: a, startedAt: T0 + 10 }),
          run({ function: a, startedAt: T0 + 20, status: 'failed', httpStatus: 500 }),
          run({ function: a, startedAt: T0 + 30, trigger: 'cron' }),
          run({ function: b, startedAt: T0 + 40 }),
        ];
        await store.runs.record(runs);
        const ids = (list: { items: { runId: string }[] }) => list.items.map((r) => r.runId);
        const all = await store.runs.list({ since: T0, until: T0 + 100 });
        assert.deepEqual(ids(all), [runs[3]!.runId, runs[2]!.runId, runs[1]!.runId, runs[0]!.runId]);
        assert.equal(all.nextCursor, null);
        assert.equal('logs' in all.items[0]!, false);
        assert.deepEqual(ids(await store.runs.list({ function: a })), [runs[2]!.runId, runs[1]!.runId, runs[0]!.runId]);
        assert.deepEqual(ids(await store.runs.list({ function: a, status: 'failed' })), [runs[1]!.runId]);
        assert.deepEqual(ids(await store.runs.list({ function: a, trigger: 'cron' })), [runs[2]!.runId]);
        // since is inclusive, until exclusive
        assert.deepEqual(ids(await store.runs.list({ function: a, since: T0 + 20, until: T0 + 30 })), [runs[1]!.runId]);
        assert.deepEqual(ids(await store.runs.list({ since: T0, until: T0 + 100, limit: 2 })), [runs[3]!.runId, runs[2]!.runId]);
      }));

    it('pages with a cursor: every run once, in order, ties on startedAt included', () =>
      withStore(open, async (store) => {
        const fn = uniqueName();
        // 25 runs over 10 distinct start times, so pages split inside groups of equal startedAt.
        const runs = Array.from({ length: 25 }, (_, i) => run({ function: fn, startedAt: T0 + Math.floor(i / 3) }));
        await store.runs.record(runs);
        const seen: string[] = [];
        const pages: number[] = [];
        let cursor: string | undefined;
        for (let guard = 0; guard < 10; guard++) {
          const page = await store.runs.list({ function: fn, limit: 10, ...(cursor ? { cursor } : {}) });
          pages.push(page.items.length);
          seen.push(...page.items.map((r) => r.runId));
          if (page.nextCursor === null) break;
          cursor = page.nextCursor;
        }
        assert.deepEqual(pages, [10, 10, 5]);
        const expected = [...runs].sort((x, y) => y.startedAt - x.startedAt || (y.runId < x.runId ? -1 : 1)).map((r) => r.runId);
        assert.deepEqual(seen, expected);
        await rejectsWithCode(store.runs.list({ cursor: 'not-a-cursor' }), 'RUN_CURSOR_INVALID');
      }));

    it('prunes runs older than the retention cutoff, with their logs', () =>
      withStore(open, async (store) => {
        const fn = uniqueName();
        const old = Array.from({ length: 5 }, (_, i) => run({ function: fn, startedAt: T0 + i }));
        const recent = Array.from({ length: 3 }, (_, i) => run({ function: fn, startedAt: T0 + 1000 + i }));
        await store.runs.record([...old, ...recent]);
        assert.equal(await store.runs.prune(T0 + 1000), 5);
        assert.equal(await store.runs.get(old[0]!.runId), null);
        assert.deepEqual(await store.runs.get(recent[0]!.runId), recent[0]);
        assert.deepEqual(
          (await store.runs.list({ function: fn })).items.map((r) => r.runId),
          recent.map((r) => r.runId).reverse(),
        );
        assert.equal(await store.runs.prune(T0 + 1000), 0);
      }));

    it('prunes a backlog larger than one step', () =>
      withStore(open, async (store) => {
        const fn = uniqueName();
        const many = Array.from({ length: 5000 }, (_, i) => run({ function: fn, startedAt: T0 + i, logs: [] }));
        await store.runs.record(many);
        assert.equal(await store.runs.prune(T0 + 4990), 4990);
        assert.equal((await store.runs.list({ function: fn, limit: 1000 })).items.length, 10);
      }));

    it('prunes the oldest runs first, with their logs, and counts and measures what is left', () =>
      withStore(open, async (store) => {
        const fn = uniqueName();
        const line = { stream: 'stdout' as const, ts: T0, msg: 'x'.repeat(200) };
        // Recorded newest first: the order of arrival must not matter, only the start time.
        const runs = Array.from({ length: 30 }, (_, i) => run({ function: fn, startedAt: T0 + i, logs: [line] })).reverse();
        await store.runs.record(runs);
        assert.equal(await store.runs.count(), 30);
        const before = await store.runs.bytes();
        assert.ok(before > 0);
        assert.equal(await store.runs.pruneOldest(10), 10);
        assert.equal(await store.runs.count(), 20);
        const left = (await store.runs.list({ function: fn, limit: 100 })).items.map((r) => r.startedAt);
        assert.equal(Math.min(...left), T0 + 10);
        assert.equal(await store.runs.get(runs[29]!.runId), null); // the oldest
        assert.deepEqual(await store.runs.get(runs[0]!.runId), runs[0]); // the newest, logs and all
        assert.equal(await store.runs.pruneOldest(0), 0);
      }));

    it('prunes the runs of whichever function holds the most bytes first, its oldest first; a light function keeps its older runs', () =>
      withStore(open, async (store) => {
        const [keeper, flooder] = [uniqueName(), uniqueName()];
        const big = { stream: 'stderr' as const, ts: T0, msg: 'z'.repeat(20_000) };
        // The keeper's runs are the oldest in the store: oldest-first store-wide would take them first.
        const kept = Array.from({ length: 5 }, (_, i) => run({ function: keeper, startedAt: T0 + i }));
        const flood = Array.from({ length: 20 }, (_, i) => run({ function: flooder, startedAt: T0 + 100 + i, logs: [big] }));
        await store.runs.record([...kept, ...flood]);
        assert.equal(await store.runs.pruneOldest(10), 10);
        assert.equal((await store.runs.list({ function: keeper, limit: 100 })).items.length, 5);
        const left = (await store.runs.list({ function: flooder, limit: 100 })).items.map((r) => r.startedAt);
        assert.deepEqual([left.length, Math.min(...left)], [10, T0 + 110]);
        assert.deepEqual(await store.runs.get(flood[19]!.runId), flood[19]); // its newest, logs and all
      }));

    it('weighs what a record holds past its logs: runs with long errors and no log line go before lighter runs with logs (red team round 34)', () =>
      withStore(open, async (store) => {
        const [keeper, filler] = [uniqueName(), uniqueName()];
        const line = { stream: 'stdout' as const, ts: T0, msg: 'k'.repeat(10_000) };
        // The keeper's runs are the oldest, with ~10 KB of logs each; the filler's have no log line
        // but a 64 Ki-character error message and traceback (~256 KB each, counted as 1 KiB before).
        const kept = Array.from({ length: 5 }, (_, i) => run({ function: keeper, startedAt: T0 + i, logs: [line] }));
        const long = 'é'.repeat(65_536);
        const filled = Array.from({ length: 4 }, (_, i) => run({
          function: filler, startedAt: T0 + 100 + i, status: 'failed', logs: [],
          error: { type: 'ValueError', message: long, stack: `Traceback (most recent call last):\nValueError: ${long}` },
        }));
        await store.runs.record([...kept, ...filled]);
        assert.equal(await store.runs.pruneOldest(2), 2);
        assert.equal((await store.runs.list({ function: keeper, limit: 100 })).items.length, 5, 'the keeper lost runs to the filler\'s long errors');
        assert.equal((await store.runs.list({ function: filler, limit: 100 })).items.length, 2);
        assert.deepEqual(await store.runs.get(filled[3]!.runId), filled[3]); // read back as written
      }));

    it('a store over its size cap is pruned, oldest first, until it is under the cap', () =>
      withStore(open, async (store) => {
        const fn = uniqueName();
        const empty = await store.runs.bytes();
        const line = { stream: 'stdout' as const, ts: T0, msg: 'y'.repeat(1000) };
        const runs = Array.from({ length: 3000 }, (_, i) => run({ function: fn, startedAt: T0 + i, logs: [line] }));
        for (let i = 0; i < runs.length; i += 500) await store.runs.record(runs.slice(i, i + 500));
        const full = await store.runs.bytes();
        assert.ok(full > empty + 3000 * 1000, `${full} bytes for 3000 runs of 1 kB`);
        const cap = Math.floor(empty + (full - empty) / 2);
        const retention = new RunRetention(store.runs, { retentionMs: 3650 * 24 * 3_600_000, intervalMs: 3_600_000, maxBytes: cap, now: () => T0 });
        const pruned = await retention.capNow();
        assert.ok(pruned > 0 && pruned < 3000, `pruned ${pruned}`);
        assert.ok((await store.runs.bytes()) <= cap, 'under the cap');
        assert.equal(await store.runs.count(), 3000 - pruned);
        // Oldest first: what is left is exactly the newest runs.
        const oldestLeft = (await store.runs.list({ function: fn, since: T0, until: T0 + pruned + 1, limit: 100 })).items.map((r) => r.startedAt);
        assert.deepEqual(oldestLeft, [T0 + pruned]);
        // Under the cap now: a second check prunes nothing.
        assert.equal(await retention.capNow(), 0);
        await retention.stop();
      }));
  });
}
