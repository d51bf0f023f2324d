/**
 * Opens the async pieces for a mode. Embedded: the queue (`queue.db`), the run timeline
 * (`timeline.db`) and the run index (`async-runs.db`) are SQLite files in the state directory.
 * Production: all three in Redis (Streams queue; timeline and index per run, kept for the run
 * retention), shared by every platform process on that Redis. The queue only takes runs while that
 * Redis persists its data (checked at start and on every reconnect; `allowVolatile` waives it).
 */
import { openSqliteTimeline, type RunTimeline } from '../dispatcher/index.js';
import type { ReadinessProblem } from '../../../protocol/index.js';
import { admitFirst, openRedisQueue, openSqliteQueue, type Queue } from '../queue/index.js';
import { RedisAsyncRuns, RedisRunTimeline } from './redis.js';
import { openSqliteAsyncRuns, type AsyncRunIndex } from './runs-sqlite.js';

export type AsyncStoreConfig =
  | { kind: 'embedded'; stateDir: string; leaseMs: number }
  | {
      kind: 'production'; leaseMs: number; redisUrl: string; prefix: string; retentionMs: number;
      /** Take runs even when Redis does not persist (FP_REDIS_ALLOW_VOLATILE=1). Default false. */
      allowVolatile?: boolean;
      /** Operator messages (Redis lost and back, persistence verdicts, a recreated consumer group). */
      log?: (line: string) => void;
    };

export interface AsyncStores {
  queue: Queue;
  timeline: RunTimeline;
  runs: AsyncRunIndex;
  /** What keeps async intake from accepting runs now (for /readyz); empty when all is well. */
  readiness(): ReadinessProblem[];
  close(): Promise<void>;
}

export async function openAsyncStores(config: AsyncStoreConfig): Promise<AsyncStores> {
  if (config.kind === 'embedded') {
    const queue = await openSqliteQueue({ stateDir: config.stateDir, leaseMs: config.leaseMs });
    const timeline = await openSqliteTimeline({ stateDir: config.stateDir });
    const runs = await openSqliteAsyncRuns({ stateDir: config.stateDir });
    return {
      queue, timeline, runs,
      readiness: () => [],
      async close() {
        await queue.close();
        await timeline.close();
        await runs.close();
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
  return {
    // Every way in (async calls, webhooks, cron ticks, replays) goes through enqueue: refused while Redis is volatile.
    queue: admitFirst(redisQueue, () => durability.admit()),
    timeline: new RedisRunTimeline(options),
    runs: new RedisAsyncRuns(options),
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
