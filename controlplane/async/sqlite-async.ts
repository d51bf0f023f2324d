/**
 * The embedded async stores on one connection to `<stateDir>/async.db` (./sqlite-db.ts): the
 * queue, the run timeline and the run index, and accepting a run as one transaction of the three.
 */
import type { RunTimeline } from './dispatcher/index.js';
import { SqliteRunTimeline } from './dispatcher/timeline-sqlite.js';
import type { EnqueueResult, NewJob, Queue } from './queue/index.js';
import { sqliteQueueOn } from './queue/sqlite.js';
import type { AcceptRun } from './runs/accept.js';
import { SqliteAsyncRuns, type AsyncRunIndex, type NewAsyncRun } from './runs/runs-sqlite.js';
import { openAsyncDb } from './sqlite-db.js';

export interface SqliteAsyncStores {
  queue: Queue;
  timeline: RunTimeline;
  runs: AsyncRunIndex;
  accept: AcceptRun;
  close(): Promise<void>;
}

export async function openSqliteAsync(options: { stateDir: string; leaseMs: number }): Promise<SqliteAsyncStores> {
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
  return {
    queue, timeline, runs,
    accept: async (run, job) => acceptTx.immediate(run, job),
    async close() {
      await queue.close();
      db.close();
    },
  };
}
