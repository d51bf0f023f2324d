/**
 * The platform's public door (the CLI's `up` uses it): its configuration, how it describes its
 * sandbox, and — imported on demand, since only starting a server needs uWebSockets.js, SQLite
 * and the pool — the two ways to start it: the platform over its store (start.ts) and directory
 * mode (directory.ts). The process itself is platform/main.ts (docs/platform.md).
 */
export { CONFIG_VARIABLES, ConfigError, defaultSecretsKeyFile, loadConfig, parseOptions, unknownSettings, type PlatformConfig, type PlatformOptions } from './config.js';
export { describeIsolation } from './isolation.js';
export { writeAdminToken } from './admin-token-file.js';
export { describeStore, PRODUCTION_NEEDS_DATA_URL } from './store-description.js';
export type { RunObserver, StartedPlatform, StartOptions } from './start.js';
export type { StartedDirectory } from './directory.js';

/** `startPlatform` and `startDirectory`, loaded on first use. */
export async function loadServer(): Promise<{ startPlatform: typeof import('./start.js').startPlatform; startDirectory: typeof import('./directory.js').startDirectory }> {
  const [{ startPlatform }, { startDirectory }] = await Promise.all([import('./start.js'), import('./directory.js')]);
  return { startPlatform, startDirectory };
}
