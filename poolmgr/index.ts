/**
 * The pool manager's one public door. Everything else in poolmgr/ is private to it.
 * See docs/poolmgr.md for the lease algorithm, the invariants and the options.
 */
export { PoolManager, type PoolHooks } from './pool.js';
export { defaultPoolConfig, resolveSandbox, runtimeChildEnv, runtimePath, TRUST_ENV, type PoolConfig } from './config.js';
export { ProcessHost, type ProcessHostOptions } from './host/process-host.js';
export { longestZygoteSocket } from './host/zygotes.js';
export { Cgroups, hostMemoryShare, hostSocketShare, serviceCgroup } from './host/cgroups.js';
export { builderIdMap, platformIdMap, type IdMap } from './host/subids.js';
export type * from './host/types.js';
export { FUNCTION_DEFAULTS } from './group.js';
export type * from './types.js';
export type { KubeHost, KubeHostOptions } from './host/kube/kube-host.js';
/**
 * The Kubernetes host's class, loaded on demand: its client library costs ~0.5 s of start-up and
 * ~70 MB of memory, which a platform running local processes (the default) never needs.
 */
export async function loadKubeHost(): Promise<typeof import('./host/kube/kube-host.js').KubeHost> {
  return (await import('./host/kube/kube-host.js')).KubeHost;
}
export { LocalCoordinator, RedisCoordinator, type PoolCoordinator } from './host/kube/coordinator.js';
export { buildPod, LABEL as POD_LABEL, type PodPreset, type PodTemplate } from './host/kube/pod-spec.js';
export { RedisFleetView, type FleetView } from './fleet.js';
/** This process's pid namespace (host-pids.ts): the state lock (platform/state-lock.ts) names it too. */
export { PID_NS } from './host/host-pids.js';
