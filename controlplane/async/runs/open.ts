/**
 * Opens the async pieces for a mode. Embedded: the queue, the run timeline and the run index share
 * one SQLite file (`<stateDir>/async.db`, ../sqlite-db.ts) and one connection, so accepting a run
 * is one transaction. Production: all three in Redis (Streams queue; timeline and index per run,
 * kept for the run retention), shared by every platform process on that Redis; accepting a run
 * writes the index, then the queue, then the timeline (a run on the timeline is always queued).
 */
import type { RunTimeline } from '../dispatcher/index.js';
import { SqliteRunTimeline } from '../dispatcher/timeline-sqlite.js';
import { openRedisQueue, type EnqueueResult, type NewJob, type Queue } from '../queue/index.js';
import { sqliteQueueOn } from '../queue/sqlite.js';
import { openAsyncDb } from '../sqlite-db.js';
import { RedisAsyncRuns, RedisRunTimeline } from './redis.js';
import { SqliteAsyncRuns, type AsyncRunIndex, type NewAsyncRun } from './runs-sqlite.js';

export type AsyncStoreConfig =
  | { kind: 'embedded'; stateDir: string; leaseMs: number }
  | { kind: 'production'; leaseMs: number; redisUrl: string; prefix: string; retentionMs: number };

/**
 * Accepts a run: its index row, its job and its `queued` transition. A repeated idempotency key
 * answers the first run and leaves nothing of this one. Rejects when nothing could be written.
 */
export type AcceptRun = (run: NewAsyncRun, job: NewJob) => Promise<EnqueueResult>;

export interface AsyncStores {
  queue: Queue;
  timeline: RunTimeline;
  runs: AsyncRunIndex;
  accept: AcceptRun;
  close(): Promise<void>;
}

/**
 * Accepting a run on stores that share no transaction: the index row first (an attempt may start
 * as soon as the job is queued, and finds its run), then the job, then `queued`.
 */
export function acceptInOrder(queue: Queue, timeline: RunTimeline, runs: AsyncRunIndex): AcceptRun {
  return async (run, job) => {
    await runs.create(run);
    const result = await queue.enqueue(job);
    if (result.created) await timeline.transition(result.runId, 'queued', run.acceptedAt);
    else await runs.remove(run.runId);
    return result;
  };
}

export async function openAsyncStores(config: AsyncStoreConfig): Promise<AsyncStores> {
  if (config.kind === 'embedded') {
    const db = await openAsyncDb(config.stateDir);
    const queue = sqliteQueueOn(db, { leaseMs: config.leaseMs }, false);
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
  const { connectRedis, redisReady } = await import('../../store/production/redis-metrics.js');
  // The queue owns its connection (its blocking-free scripts); the timeline and index share another.
  const queueClient = connectRedis(config.redisUrl);
  const client = connectRedis(config.redisUrl);
  try {
    await Promise.all([redisReady(queueClient), redisReady(client)]);
  } catch (err) {
    queueClient.disconnect();
    client.disconnect();
    throw err;
  }
  const queue = await openRedisQueue({ client: queueClient, ownsClient: true, prefix: config.prefix, leaseMs: config.leaseMs });
  const options = { client, prefix: config.prefix, retentionMs: config.retentionMs };
  const timeline = new RedisRunTimeline(options);
  const runs = new RedisAsyncRuns(options);
  return {
    queue, timeline, runs,
    accept: acceptInOrder(queue, timeline, runs),
    async close() {
      await queue.close();
      client.disconnect();
    },
  };
}
