/**
 * The gateway's public door. Everything another part of the platform (or a test) may use is
 * exported here; nothing else in gateway/ is imported from outside.
 */
export { createGateway, isReady, type Gateway, type GatewayOptions } from './gateway.js';
export { loadConfig, unknownSettings, ConfigError, CONFIG_VARIABLES, type GatewayConfig } from './config.js';
export {
  DirectoryRegistry,
  RegistryError,
  contentVersion,
  MANIFEST_FILE,
  NOT_FOUND,
  type FunctionRegistry,
  type DirectoryRegistryOptions,
  type InvokeAuth,
  type Resolution,
  type TokenVerdict,
} from './registry.js';
export { MemoryRunSink, type RunRecord, type RunSink, type RunError } from './runs.js';
export { bearerToken, type AsyncCall, type AsyncIntake, type DirectRequest, type DirectResult, type DirectError } from './invoke.js';
export type { FoundHook, Webhooks } from './hooks.js';
export type { MountedApi, PlainRequest, PlainResponse } from './mount.js';
export { uwsIsNative, UwsFallbackError } from './uws-adapter.js';
export type { InvocationPool } from './pool.js';
