/**
 * The control plane's storage: ports (./types.ts) and the factories that pick an adapter from
 * configuration. Code outside this folder calls `openStore` / `openHotMetrics` and sees only the
 * ports. The production adapters are imported on demand, so the embedded default never loads the
 * MongoDB and Redis drivers (~160 ms of start-up).
 */
import type { Keyring } from '../secrets/index.js';
import { LocalConfigBus, type ConfigBus } from './config-bus.js';
import type { HotMetrics } from './metrics/types.js';
import { MemoryHotMetrics } from './metrics/memory.js';
import { openSqliteStore } from './sqlite/index.js';
import type { Store } from './types.js';

export type * from './types.js';
export { StoreError, isStoreError, STORE_ERROR_CODES, type StoreErrorCode } from './errors.js';
export * from './metrics/index.js';
export { BufferedRecorder, Recorder, type BufferedRecorderOptions, type DropReason, type RecorderOptions, type RecorderStats, type Waiting } from './recorder.js';
export { SampleRecorder, type SampleRecorderOptions } from './sample-recorder.js';
export { LocalConfigBus, type ConfigBus, type ConfigChange, type ConfigListener } from './config-bus.js';
export { RecordingRunSink, sampleOf, type RecordingRunSinkOptions, type RecorderTuning, type SinkTarget } from './run-sink.js';
export { RunSinkMetrics, type SinkStats } from './sink-metrics.js';

/** Which adapter to open. */
export type StoreConfig =
  | {
      kind: 'embedded';
      stateDir: string;
      /** Seals secrets and keys token digests (docs/secrets.md). */
      keyring: Keyring;
      /** Default Date.now; tests pass a fake clock. */
      now?: () => number;
    }
  | {
      /** MongoDB (any MongoDB-wire server; FerretDB in tests). Redis is opened by `openHotMetrics`. */
      kind: 'production';
      mongoUrl: string;
      keyring: Keyring;
      /** Default `fastapi_platform`. */
      database?: string;
      /** How long run logs are kept (a TTL index; swept by the store where the server has none). Default 7 days. */
      logRetentionMs?: number;
      now?: () => number;
    };

export async function openStore(config: StoreConfig): Promise<Store> {
  switch (config.kind) {
    case 'embedded':
      return openSqliteStore({ stateDir: config.stateDir, keyring: config.keyring, ...(config.now ? { now: config.now } : {}) });
    case 'production': {
      const { openMongoStore } = await import('./production/index.js');
      return openMongoStore({
        url: config.mongoUrl,
        keyring: config.keyring,
        ...(config.database !== undefined ? { database: config.database } : {}),
        ...(config.logRetentionMs !== undefined ? { logRetentionMs: config.logRetentionMs } : {}),
        ...(config.now ? { now: config.now } : {}),
      });
    }
  }
}

/** Which HotMetrics to open: in memory (embedded) or Redis (production, shared by every gateway). */
export type HotMetricsConfig =
  | { kind: 'embedded'; now?: () => number }
  | {
      kind: 'production';
      redisUrl: string;
      /** Key prefix (protocol/redis-keys.ts). Default `fp`. */
      prefix?: string;
      now?: () => number;
    };

/**
 * Opens HotMetrics. The production one returns at once even when Redis is down: its calls fail
 * fast until Redis answers (the client reconnects by itself), which a BufferedRecorder absorbs.
 */
export async function openHotMetrics(config: HotMetricsConfig): Promise<HotMetrics> {
  switch (config.kind) {
    case 'embedded':
      return new MemoryHotMetrics(config.now ? { now: config.now } : {});
    case 'production': {
      const [{ RedisHotMetrics }, { connectRedis }] = await Promise.all([import('./production/redis-metrics.js'), import('./production/redis-client.js')]);
      return new RedisHotMetrics({
        client: connectRedis(config.redisUrl),
        ownsClient: true,
        ...(config.prefix !== undefined ? { prefix: config.prefix } : {}),
        ...(config.now ? { now: config.now } : {}),
      });
    }
  }
}

/** Which ConfigBus to open: none to tell (embedded), or Redis pub/sub shared by every process (production). */
export type ConfigBusConfig =
  | { kind: 'embedded' }
  | { kind: 'production'; redisUrl: string; prefix?: string; origin: string; log: (line: string) => void };

export async function openConfigBus(config: ConfigBusConfig): Promise<ConfigBus> {
  if (config.kind === 'embedded') return new LocalConfigBus();
  const { RedisConfigBus } = await import('./production/config-bus.js');
  return new RedisConfigBus({ redisUrl: config.redisUrl, origin: config.origin, log: config.log, ...(config.prefix !== undefined ? { prefix: config.prefix } : {}) });
}
