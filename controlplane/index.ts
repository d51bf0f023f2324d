/**
 * The control plane's public door: functions, versions, deploys, runs and tokens behind the REST
 * API of docs/api.md, plus the registry and run sink it lends the gateway. Everything else in
 * controlplane/ is private to it (the store has its own door, controlplane/store/index.ts, used
 * by the composition root to open it).
 */
export { createControlPlane, type ControlPlane, type ControlPlaneOptions } from './controlplane.js';
export type { Invoker, PoolDrain } from './service/context.js';
export { DEFAULT_BUNDLE_LIMITS, type BundleLimits } from './bundles/index.js';
export type { DepsOptions } from './deps/index.js';
export { openConfigBus, openHotMetrics, openStore, type FunctionUsage, type HotMetrics, type HotMetricsConfig, type Store, type StoreConfig, type UsageWindow } from './store/index.js';
export { openAsyncStores, type AsyncStoreConfig, type AsyncStores } from './async/index.js';
export { openReplayGuard, openTickLock, type ReplayGuardConfig, type TickLockConfig } from './async/index.js';
export { addKeyToFile, loadKeyring, type Keyring, type KeySource, type LoadedKeyring } from './secrets/index.js';
export { checkKeys, reencryptSecrets, type KeyReport } from './service/keys.js';
