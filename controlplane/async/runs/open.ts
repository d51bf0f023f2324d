/**
/**
 * Opens the async pieces for a mode. Embedded: the queue, the run timeline and the run index share
 * one SQLite file (`<stateDir>/async.db`, ../sqlite-db.ts) and one connection, so accepting a run
 * is one transaction. Production: all three in Redis (Streams queue; timeline and index per run,
 * kept for the run retention), shared by every platform process on that Redis; accepting a run
 * writes the index, then the queue, then the timeline (a run on the timeline is always queued).
 * The Redis queue only takes runs while that Redis persists its data (checked at start and on
 * every reconnect; `allowVolatile` waives it).
 */
import type { ReadinessProblem } from '../../../protocol/index.js';
import type { RunTimeline } from '../dispatcher/index.js';
import { SqliteRunTimeline } from '../dispatcher/timeline-sqlite.js';
import { admitFirst, openRedisQueue, type EnqueueResult, type NewJob, type Queue } from '../queue/index.js';
import { sqliteQueueOn } from '../queue/sqlite.js';
import { openAsyncDb } from '../sqlite-db.js';
import { RedisAsyncRuns, RedisRunTimeline } from './redis.js';
import { SqliteAsyncRuns, type AsyncRunIndex, type NewAsyncRun } from './runs-sqlite.js';

export type AsyncStoreConfig =
  | { kind: 'embedded'; stateDir: string; leaseMs: number }
  | {
      kind: 'production'; leaseMs: number; redisUrl: string; prefix: string; retentionMs: number;
      /** Take runs even when Redis does not persist (FP_REDIS_ALLOW_VOLATILE=1). Default false. */
      allowVolatile?: boolean;
      /** Operator messages (Redis lost and back, persistence verdicts, a recreated consumer group). */
      log?: (line: string) => void;
    };

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
  /** What keeps async intake from accepting runs now (for /readyz); empty when all is well. */
  readiness(): ReadinessProblem[];
  close(): Promise<void>;
}

/**
 * Accepting a run on stores that share no transaction: the index row first (an attempt may start
 * as soon as the job is queued, and finds its run), then the job, then `queued`.
 */
export function acceptInOrder(queue: Queue, timeline: RunTimeline, runs: AsyncRunIndex): AcceptRun {
  return async (run, job) => {
    await runs.create(run);
    let result: EnqueueResult;
    try {
      result = await queue.enqueue(job);
    } catch (err) {
      // Not queued (refused, or Redis failed): the caller gets a 503, so no index row may outlive it.
      await runs.remove(run.runId).catch(() => undefined);
      throw err;
    }
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
      readiness: () => [],
      async close() {
        await queue.close();
        db.close();
      },
    };
  }
  const [{ connectRedis, redisReady }, { RedisDurability }] = await Promise.all([
    import('../../store/production/redis-client.js'),
    import('../../store/production/redis-persistence.js'),
  ]);
  const log = config.log ?? (() => {});
  // The queue owns its connection (its blocking-free scripts); the timeline and index share another.
  const queueClient = connectRedis(config.redisUrl);
  const client = connectRedis(config.redisUrl);
  const durability = new RedisDurability({ client: queueClient, url: config.redisUrl, allowVolatile: config.allowVolatile ?? false, log });
  try {
    await Promise.all([redisReady(queueClient), redisReady(client)]);
    await durability.start();
  } catch (err) {
    durability.close();
    queueClient.disconnect();
    client.disconnect();
    throw err;
  }
  const redisQueue = await openRedisQueue({ client: queueClient, ownsClient: true, prefix: config.prefix, leaseMs: config.leaseMs, log });
  const options = { client, prefix: config.prefix, retentionMs: config.retentionMs };
  const queue = admitFirst(redisQueue, () => durability.admit());
  const timeline = new RedisRunTimeline(options);
  const runs = new RedisAsyncRuns(options);
  return {
    // Every way in (async calls, webhooks, cron ticks, replays) goes through enqueue: refused while Redis is volatile.
    queue, timeline, runs,
    accept: acceptInOrder(queue, timeline, runs),
    readiness: () => {
      const problem = durability.problem();
      return problem === null ? [] : [problem];
    },
    async close() {
      durability.close();
      await redisQueue.close();
      client.disconnect();
    },
  };
}
