/**
 * The control plane's storage: ports (./types.ts) and their adapters. The embedded ones (SQLite
 * and files, metrics in memory) are exported as they are; the production ones are behind
 * `loadProductionStore()`, imported on demand, so the embedded default never loads the MongoDB
 * and Redis drivers (~160 ms of start-up). Which adapters a process uses is decided in one place,
 * the composition root (platform/adapters.ts).
 */

export type * from './types.js';
export { DEPLOY_ACTIONS, NO_QUOTAS, QUOTA_NAMES } from './types.js';
export { auditTrimEntry, auditTrimSlack, decodeAuditCursor, DEPLOY_RECORDS_KEPT, encodeAuditCursor, KEPT_AUDIT_ACTION, logBytesOf, quotaExceeded, REVOKED_TOKENS_KEPT } from './quotas.js';
export { BLOB_GRACE_MS } from './version-retention.js';
export { StoreError, isStoreError, STORE_ERROR_CODES, type StoreErrorCode } from './errors.js';
export * from './metrics/index.js';
export { BufferedRecorder, Recorder, type BufferedRecorderOptions, type DropReason, type RecorderOptions, type RecorderStats, type Waiting } from './recorder.js';
export { SampleRecorder, type SampleRecorderOptions } from './sample-recorder.js';
export { LocalConfigBus, type ConfigBus, type ConfigChange, type ConfigListener } from './config-bus.js';
export { openSqliteStore, type SqliteStoreOptions } from './sqlite/index.js';
export { openIntactSqlite, SERVING_BUSY_TIMEOUT_MS, START_BUSY_TIMEOUT_MS } from './sqlite/intact.js';
export { RUN_JOURNAL_MAX_BYTES, RunJournal, type RunJournalOptions } from './run-journal.js';
export { PLATFORM_SINK_TUNING, RecordingRunSink, sampleOf, type RecordingRunSinkOptions, type RecorderTuning, type SinkTarget } from './run-sink.js';
export { KEEP_ALL, RunSampler, type RunSampling } from './run-sampling.js';
export { RunSinkMetrics, type SinkStats } from './sink-metrics.js';

/**
 * The production adapters (MongoDB store; Redis metrics, config bus and connections), loaded on
 * demand: a process that never asks for them never loads the MongoDB and Redis drivers.
 * The composition root (platform/adapters.ts) is the one caller.
 */
export async function loadProductionStore() {
  const [{ openMongoStore, mongoAddress }, { RedisHotMetrics }, { RedisConfigBus }, { connectRedis, connectRedisSubscriber, openRedis, redisReady }, { RedisDurability }, { PrefixClaim }] = await Promise.all([
    import('./production/index.js'),
    import('./production/redis-metrics.js'),
    import('./production/config-bus.js'),
    import('./production/redis-client.js'),
    import('./production/redis-persistence.js'),
    import('./production/redis-owner.js'),
  ]);
  return { openMongoStore, mongoAddress, RedisHotMetrics, RedisConfigBus, connectRedis, connectRedisSubscriber, openRedis, redisReady, RedisDurability, PrefixClaim };
}
