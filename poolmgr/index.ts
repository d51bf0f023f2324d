/**
 * The pool manager's one public door. Everything else in poolmgr/ is private to it.
 * See docs/poolmgr.md for the lease algorithm, the invariants and the options.
 */
export { PoolManager, type PoolHooks } from './pool.js';
export { defaultPoolConfig, resolveSandbox, type PoolConfig } from './config.js';
export { ProcessHost, type ProcessHostOptions } from './host/process-host.js';
export type * from './host/types.js';
export { FUNCTION_DEFAULTS } from './group.js';
export type * from './types.js';
