/**
 * The control plane's public door: functions, versions, deploys, runs and tokens behind the REST
 * API of docs/api.md, plus the registry and run sink it lends the gateway. Everything else in
 * controlplane/ is private to it; the adapters behind its ports (embedded ones directly, production
 * ones through `loadProductionStore()`, imported on demand) are exported for the composition root,
 * platform/adapters.ts, which alone chooses between them.
 */
export { createControlPlane, type ControlPlane, type ControlPlaneOptions } from './controlplane.js';
export type { Invoker, PoolDrain } from './service/context.js';
export { DEFAULT_BUNDLE_LIMITS, type BundleLimits } from './bundles/index.js';
export type { DepsOptions } from './deps/index.js';
export { BUILD_TASKS } from './deps/index.js';
// The adapters behind every port, for the composition root (platform/adapters.ts) to choose from.
export { LocalConfigBus, loadProductionStore, MemoryHotMetrics, openSqliteStore, type ConfigBus, type FunctionUsage, type HotMetrics, type KeyUsage, type Store, type UsageWindow } from './store/index.js';
export {
  acceptInOrder,
  Reacceptor,
  recordedAccept,
  recordingQueue,
  cancelInOrder,
  admitFirst,
  ASYNC_DB_FILE,
  openRedisQueue,
  openSqliteAsync,
  openSqliteReplayGuard,
  openSqliteTickLock,
  RedisAsyncRuns,
  RedisRunTimeline,
  redisReplayGuard,
  redisTickLock,
  type AcceptRun,
  type AsyncRunIndex,
  type CancelRun,
  type Queue,
  type ReplayGuard,
  type RunTimeline,
  type TickLock,
} from './async/index.js';
export { MemoryLogFeed, RedisLogFeed, type LogFeed } from './logs/index.js';
export { addKeyToFile, loadKeyring, type Keyring, type KeySource, type LoadedKeyring } from './secrets/index.js';
export { LIMITER_CLIENT_OPTIONS, MemoryLimiter, RedisLimiter, type AdmissionLimiter } from './limits/index.js';
export { checkKeys, reencryptSecrets, refuseUnopenable, type KeyReport } from './service/keys.js';
export { bindingUri, DataBindings, DataCredentials, DataProxy, DEFAULT_FERRETDB_MAX_FIELDS, physicalDatabase, RUN_TAG_PREFIX, WriteLedger, type BackendAddress, type BoundFunction, type CollectionWrites, type Credential, type Grant } from './data/index.js';
