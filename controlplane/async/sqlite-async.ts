/**
 * The embedded async stores on one connection to `<stateDir>/async.db` (./sqlite-db.ts): the
 * queue, the run timeline and the run index, and accepting a run as one transaction of the three.
 */
import { CANCELLED_BY_REQUEST, type RunTimeline } from './dispatcher/index.js';
import { SqliteRunTimeline } from './dispatcher/timeline-sqlite.js';
import type { EnqueueResult, NewJob, Queue } from './queue/index.js';
import { sqliteQueueOn } from './queue/sqlite.js';
import type { AcceptRun, CancelRun } from './runs/accept.js';
import { SqliteAsyncRuns, type AsyncRunIndex, type NewAsyncRun } from './runs/runs-sqlite.js';
import { openAsyncDb } from './sqlite-db.js';

export interface SqliteAsyncStores {
  queue: Queue;
  timeline: RunTimeline;
  runs: AsyncRunIndex;
  accept: AcceptRun;
  /** Cancelling a waiting run: its job removed and `cancelled` written in one transaction. */
  cancel: CancelRun;
  /** Deletes finished runs accepted before `beforeMs` (index, result, timeline, attempts); how many rows went. */
  prune(beforeMs: number): Promise<number>;
  close(): Promise<void>;
}

/** How many rows one prune step deletes per table before it yields (a backlog never stalls the loop long). */
const PRUNE_CHUNK = 500;

export async function openSqliteAsync(options: { stateDir: string; leaseMs: number; retentionMs?: number; pruneIntervalMs?: number }): Promise<SqliteAsyncStores> {
  const db = await openAsyncDb(options.stateDir);
  const queue = sqliteQueueOn(db, { leaseMs: options.leaseMs }, false);
  const timeline = new SqliteRunTimeline(db, false);
  const runs = new SqliteAsyncRuns(db, false);
  const acceptTx = db.transaction((run: NewAsyncRun, job: NewJob): EnqueueResult => {
    runs.createSync(run);
    const result = queue.enqueueSync(job);
    if (result.created) timeline.transitionSync(result.runId, 'queued', run.acceptedAt);
    else runs.removeSync(run.runId);
    return result;
  });
  const cancelTx = db.transaction((runId: string, at: number) => {
    const removed = queue.cancelSync(runId);
    if (removed === 'cancelled') timeline.transitionSync(runId, 'cancelled', at, CANCELLED_BY_REQUEST);
    return removed;
  });
  // Retention: the run index (with each run's stored result, up to MAX_STORED_RESULT_BYTES), its
  // timeline and attempts go after the run retention, as their Redis keys expire (runs/redis.ts).
  // Before (red team 3) the embedded store kept them for ever: five async calls of a public
  // function answering 30 MiB grew async.db by 150 MB that nothing ever freed. A run still in the
  // queue is kept.
  const pruneSteps = [
    db.prepare(`DELETE FROM async_runs WHERE rowid IN (SELECT r.rowid FROM async_runs r WHERE r.accepted_at < ? AND NOT EXISTS (SELECT 1 FROM jobs j WHERE j.run_id = r.run_id) LIMIT ${PRUNE_CHUNK})`),
    db.prepare(`DELETE FROM transitions WHERE rowid IN (SELECT t.rowid FROM transitions t WHERE t.at < ? AND NOT EXISTS (SELECT 1 FROM async_runs r WHERE r.run_id = t.run_id) AND NOT EXISTS (SELECT 1 FROM jobs j WHERE j.run_id = t.run_id) LIMIT ${PRUNE_CHUNK})`),
    db.prepare(`DELETE FROM attempts WHERE rowid IN (SELECT a.rowid FROM attempts a WHERE a.started_at < ? AND NOT EXISTS (SELECT 1 FROM async_runs r WHERE r.run_id = a.run_id) AND NOT EXISTS (SELECT 1 FROM jobs j WHERE j.run_id = a.run_id) LIMIT ${PRUNE_CHUNK})`),
    // A dead letter (its payload, up to the async body limit) is only reachable through its run
    // (replay needs the run's view), which went above: before (ops round 1) every failed run's
    // payload stayed for ever, outside the run store's size cap: a function failing each call
    // grew async.db by up to 256 KiB a call.
    db.prepare(`DELETE FROM dead WHERE rowid IN (SELECT d.rowid FROM dead d WHERE d.dead_at < ? AND NOT EXISTS (SELECT 1 FROM async_runs r WHERE r.run_id = d.run_id) LIMIT ${PRUNE_CHUNK})`),
  ];
  let pruning = false;
  const prune = async (beforeMs: number): Promise<number> => {
    if (pruning) return 0;
    pruning = true;
    let deleted = 0;
    try {
      for (const step of pruneSteps) {
        for (;;) {
          const n = step.run(beforeMs).changes;
          deleted += n;
          if (n < PRUNE_CHUNK) break;
          await new Promise((resolve) => setImmediate(resolve));
        }
      }
    } finally {
      pruning = false;
      if (deleted > 0) runs.forgetTotals(); // the results budget's totals counted what went (ADR 0250)
    }
    return deleted;
  };
  const retentionMs = options.retentionMs;
  const timer = retentionMs === undefined ? null : setInterval(() => void prune(Date.now() - retentionMs).catch(() => undefined), options.pruneIntervalMs ?? 60_000);
  timer?.unref();
  if (retentionMs !== undefined) void prune(Date.now() - retentionMs).catch(() => undefined);
  return {
    queue, timeline, runs, prune,
    accept: async (run, job) => acceptTx.immediate(run, job),
    cancel: async (runId, at) => cancelTx.immediate(runId, at),
    async close() {
      if (timer !== null) clearInterval(timer);
      await queue.close();
      db.close();
    },
  };
}
