/**
 * The gateway's public door: a library (the process and its configuration are the platform's:
 * platform/main.ts, platform/config.ts). Everything another part of the platform (or a test) may
 * use is exported here; nothing else in gateway/ is imported from outside.
 */
export { createGateway, isReady, type Gateway, type GatewayOptions, type GatewaySettings } from './gateway.js';
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
export { CONSOLE_CSP, CONSOLE_PREFIX, loadStaticSite, serveStatic, type StaticSite } from './static-site.js';
export { TrustedProxies } from './peer.js';
export { CONSOLE_HOST } from './routes.js';
