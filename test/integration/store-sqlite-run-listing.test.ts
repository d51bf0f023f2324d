/**
 * A workspace's run listing on the embedded store reads its own runs only (red team round 21, red24).
 * Left to SQLite's planner, `since` with `until` walked the time index of every workspace's runs
 * and read each row up to its `workspace` column, stored after the logs: an empty workspace's
 * `viewer` held the platform's event loop for as long as the whole store took to read. Counted
 * here in read system calls (`/proc/self/io`), not in time: the store's own page cache is
 * cold after a reopen, and the file is far larger than that cache.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { MAX_EXAMINED } from '../../controlplane/store/sqlite/runs.js';
import { run } from '../conformance/fixtures.js';
import { useSqliteStore } from '../helpers/sqlite-store.js';

const OTHERS = 12_000;
const T0 = 1_700_000_000_000;

/** Read system calls this process made so far. */
function readCalls(): number {
  return Number(/syscr:\s*(\d+)/.exec(readFileSync('/proc/self/io', 'utf8'))![1]);
}

describe('the embedded run listing of a workspace', () => {
  const h = useSqliteStore('fp-run-listing-', async ({ store }) => {
    // Another workspace's runs, each with 4 KiB of logs (the store may hold a GiB of them).
    const msg = 'x'.repeat(4096);
    for (let i = 0; i < OTHERS; i += 1000) {
      await store.runs.record(Array.from({ length: 1000 }, (_, j) => run({ function: 'busy.other', startedAt: T0 + i + j, logs: [{ stream: 'stdout', ts: T0, msg }] })));
    }
    await store.runs.record([run({ function: 'mine.quiet', startedAt: T0 - 10, status: 'failed' })]);
  });

  it('reads none of another workspace\'s runs, with since and until or with a filter', async () => {
    await h.reopen();
    const { store } = h;
    const queries = [
      { since: T0, until: T0 + OTHERS + 1 },
      { since: T0, until: T0 + OTHERS + 1, status: 'succeeded' as const },
      { since: T0, until: T0 + OTHERS + 1, trigger: 'http' as const },
      { status: 'succeeded' as const },
      { function: 'mine.quiet', since: 0, until: T0 + OTHERS + 1, status: 'succeeded' as const },
    ];
    for (const query of queries) {
      const before = readCalls();
      const page = await store.runs.list({ workspace: 'quiet', ...query });
      const reads = readCalls() - before;
      assert.deepEqual(page.items, [], JSON.stringify(query));
      assert.equal(page.nextCursor, null);
      // The other workspace's runs take thousands of pages; the quiet one's, a few.
      assert.ok(reads < 100, `${JSON.stringify(query)}: ${reads} read calls for a workspace with one run`);
    }
  });

  it('a filtered listing reads at most MAX_EXAMINED runs per call and goes on by its cursor', async () => {
    const { store } = h;
    const seen: string[] = [];
    let cursor: string | undefined;
    let calls = 0;
    do {
      const page = await store.runs.list({ workspace: 'other', status: 'failed', ...(cursor !== undefined ? { cursor } : {}) });
      seen.push(...page.items.map((r) => r.runId));
      cursor = page.nextCursor ?? undefined;
      calls++;
    } while (cursor !== undefined && calls < 10);
    assert.deepEqual(seen, []);
    assert.equal(calls, Math.ceil(OTHERS / MAX_EXAMINED), 'one call per MAX_EXAMINED runs, the last one answering nextCursor null');
    const found = await store.runs.list({ workspace: 'other', status: 'succeeded', limit: 3 });
    assert.deepEqual(found.items.map((r) => r.startedAt), [T0 + OTHERS - 1, T0 + OTHERS - 2, T0 + OTHERS - 3]);
    const next = await store.runs.list({ workspace: 'other', status: 'succeeded', limit: 2, cursor: found.nextCursor! });
    assert.deepEqual(next.items.map((r) => r.startedAt), [T0 + OTHERS - 4, T0 + OTHERS - 5]);
    const own = await store.runs.list({ workspace: 'quiet', status: 'failed' });
    assert.deepEqual(own.items.map((r) => r.function), ['mine.quiet']);
    // A function of another workspace lists nothing for this one.
    assert.deepEqual((await store.runs.list({ workspace: 'quiet', function: 'busy.other' })).items, []);
  });
});
