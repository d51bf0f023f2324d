/**
 * The async wing's one door (docs/queue.md, docs/dispatcher.md, docs/triggers.md,
 * docs/api-invoke.md "Async"): everything outside controlplane/async/ imports from here, never
 * from the folders below (checked by the dependency rules of the test command).
 *
 *   queue/        the durable queue port and its SQLite and Redis Streams adapters
 *   dispatcher/   the claim loop with leases, retries, dead letters, and the run timeline
 *   runs/         async runs as the gateway and the API see them: intake, views, the attempt runner
 *   triggers/     cron (schedules, tick locks, the scheduler) and webhooks (signatures, replay guard),
 *                 and their wiring to the functions' manifests and secrets
 *   metrics.ts    their Prometheus families (AsyncMetrics), injected into the dispatcher, scheduler and webhooks
 */
export * from './queue/index.js';
export * from './dispatcher/index.js';
export * from './runs/index.js';
export * from './triggers/index.js';
export { checkManifestTriggers, cronTriggersOf, CronTriggers, skippedTicks, type FireTick, type RepeatedFaults } from './triggers/cron-triggers.js';
export { DEFAULT_HOOK_GRACE_MS, ensureHookSecrets, lookupWebhook, rotateHookSecret, storeWebhooks, webhookSpecsOf } from './triggers/webhook-triggers.js';
export { ASYNC_DB_FILE } from './sqlite-db.js';
export { openSqliteAsync, type SqliteAsyncStores } from './sqlite-async.js';
export { AsyncMetrics, type AsyncMetricsOptions } from './metrics.js';
