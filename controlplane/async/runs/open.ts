/**
 * Opens the async pieces for a mode. Embedded: the queue (`queue.db`), the run timeline
 * (`timeline.db`) and the run index (`async-runs.db`) are SQLite files in the state directory.
 * Production: all three in Redis (Streams queue; timeline and index per run, kept for the run
 * retention), shared by every platform process on that Redis.
 */
import { openSqliteTimeline, type RunTimeline } from '../dispatcher/index.js';
import { openRedisQueue, openSqliteQueue, type Queue } from '../queue/index.js';
import { RedisAsyncRuns, RedisRunTimeline } from './redis.js';
import { openSqliteAsyncRuns, type AsyncRunIndex } from './runs-sqlite.js';

export type AsyncStoreConfig =
  | { kind: 'embedded'; stateDir: string; leaseMs: number }
  | { kind: 'production'; leaseMs: number; redisUrl: string; prefix: string; retentionMs: number };

export interface AsyncStores {
  queue: Queue;
  timeline: RunTimeline;
  runs: AsyncRunIndex;
  close(): Promise<void>;
}

export async function openAsyncStores(config: AsyncStoreConfig): Promise<AsyncStores> {
  if (config.kind === 'embedded') {
    const queue = await openSqliteQueue({ stateDir: config.stateDir, leaseMs: config.leaseMs });
    const timeline = await openSqliteTimeline({ stateDir: config.stateDir });
    const runs = await openSqliteAsyncRuns({ stateDir: config.stateDir });
    return {
      queue, timeline, runs,
      async close() {
        await queue.close();
        await timeline.close();
        await runs.close();
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
  return {
    queue,
    timeline: new RedisRunTimeline(options),
    runs: new RedisAsyncRuns(options),
    async close() {
      await queue.close();
      client.disconnect();
    },
  };
}
