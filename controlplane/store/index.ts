/**
 * The control plane's storage: ports (./types.ts) and their adapters. The embedded ones (SQLite
 * and files, metrics in memory) are exported as they are; the production ones are behind
 * `loadProductionStore()`, imported on demand, so the embedded default never loads the MongoDB
 * and Redis drivers (~160 ms of start-up). Which adapters a process uses is decided in one place,
 * the composition root (platform/adapters.ts).
 */

export type * from './types.js';
export { StoreError, isStoreError, STORE_ERROR_CODES, type StoreErrorCode } from './errors.js';
export * from './metrics/index.js';
export { BufferedRecorder, type BufferedRecorderOptions, type DropReason, type RecorderStats } from './recorder.js';
export { LocalConfigBus, type ConfigBus, type ConfigChange, type ConfigListener } from './config-bus.js';
export { openSqliteStore, type SqliteStoreOptions } from './sqlite/index.js';
export { RecordingRunSink, sampleOf, type RecordingRunSinkOptions, type RecorderTuning } from './run-sink.js';

/**
 * The production adapters (MongoDB store; Redis metrics, config bus and connections), loaded on
 * demand: a process that never asks for them never loads the MongoDB and Redis drivers.
 * The composition root (platform/adapters.ts) is the one caller.
 */
export async function loadProductionStore() {
  const [{ openMongoStore }, { RedisHotMetrics, connectRedis, redisReady }, { RedisConfigBus }] = await Promise.all([
    import('./production/index.js'),
    import('./production/redis-metrics.js'),
    import('./production/config-bus.js'),
  ]);
  return { openMongoStore, RedisHotMetrics, RedisConfigBus, connectRedis, redisReady };
}
