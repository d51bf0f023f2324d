/**
 * The platform `dev` runs by itself: the whole platform (platform/start.ts, as `up` starts it) in
 * this process, on a private state directory in the system's temporary folder (owner-only,
 * removed at exit), with a secrets key that lives only in memory and an admin token nobody saves.
 * Only the folder's dependency sites outlive it (devDepsRoot), in the CLI's cache directory.
 * The same gateway, pool, sandbox, control plane and checks as any platform; the settings of the
 * FP_* environment apply (limits, pool size, sandbox), except where and what it stores.
 */
import { createHash, randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadServer, type RunObserver, type StartedPlatform } from '../../platform/index.js';
import { platformConfig } from '../commands/up.js';
import { startError } from '../start-error.js';
import { usableCacheDir } from './cache-dir.js';
import { isLoopback } from '../loopback.js';
import { addressInUse, loopbackTwin } from '../../protocol/index.js';

/** Tried first when no --port is given, so the URL stays the same from one session to the next. */
export const DEV_PORT = 8090;

/** Settings `dev` decides itself: where state lives and how it is reached are never the environment's. */
const OWN_SETTINGS = ['FP_STATE_DIR', 'FP_FUNCTIONS_DIR', 'FP_STORE', 'FP_REDIS_URL', 'FP_REDIS_PREFIX', 'FP_MONGO_URL', 'FP_MONGO_DB', 'FP_PORT', 'FP_HOST', 'FP_PUBLIC_URL', 'FP_SECRETS_KEY', 'FP_SECRETS_KEY_FILE'];

export interface LocalPlatform {
  readonly platform: StartedPlatform;
  readonly url: string;
  /** The admin token of this platform (in memory only; gone with it). */
  readonly token: string;
  readonly stateDir: string;
  /** Stops the platform (calls in flight finish first) and removes its state. */
  close(): Promise<void>;
  /** Where its dependency sites are (kept after it, unless in the state directory). */
  readonly depsRoot: string;
  /** The folder's dependency cache was in use by another `dev`: this one builds its own. */
  readonly depsCacheBusy: boolean;
  /**
   * Why the folder's dependency cache was not used (usableCacheDir: another local user could
   * change it, or it cannot be written); this one builds its own then. Null when it is used (or busy).
   */
  readonly depsCacheRefused: string | null;
}

/**
 * The dependency sites `dev` keeps for `folder` between its starts, under the CLI's cache
 * directory: a dev start then serves the folder's declared dependencies at once when they did not
 * change, instead of building them again (apps round 11: 62.6 s for fastapi[standard] and sqlmodel).
 * One per folder: two folders' builds never share a directory one of them may clean.
 */
export function devDepsRoot(cacheDir: string, folder: string): string {
  return join(cacheDir, 'dev', createHash('sha256').update(folder).digest('hex').slice(0, 16), 'deps');
}

export interface LocalOptions {
  /**
   * Where dependency sites are kept from one start to the next (devDepsRoot); null: in the state
   * directory, built again at every start.
   */
  depsRoot: string | null;
  platformEnv: Record<string, string | undefined>;
  runtimeEnv: Record<string, string | undefined>;
  /** undefined: DEV_PORT if free, else any free port. */
  port: number | undefined;
  host: string;
  unsafeNoSandbox: boolean;
  observer: RunObserver;
  log: (line: string) => void;
}

/** Whether `host:port` can be bound now (checked once; another process may take it after). */
function portFree(host: string, port: number): Promise<boolean> {
  return new Promise((resolvePromise) => {
    const probe = createServer();
    probe.once('error', () => resolvePromise(false));
    probe.listen({ host, port, exclusive: true }, () => probe.close(() => resolvePromise(true)));
  });
}

export async function startLocal(options: LocalOptions): Promise<LocalPlatform> {
  const env = Object.fromEntries(Object.entries(options.platformEnv).filter(([key]) => !OWN_SETTINGS.includes(key)));
  const base = platformConfig(env);
  // DEV_PORT only when its loopback twin is free too (protocol/loopback-twin.ts): the gateway holds both.
  const twin = loopbackTwin(options.host);
  const port = options.port ?? ((await portFree(options.host, DEV_PORT)) && (twin === null || !(await addressInUse(twin, DEV_PORT))) ? DEV_PORT : 0);
  const stateDir = await mkdtemp(join(tmpdir(), 'fp-dev-'));
  const { startPlatform } = await loadServer();
  const start = (depsRoot: string | null): Promise<StartedPlatform> => startPlatform({
    ...base,
    secretsKeyFile: undefined,
    secretsKey: randomBytes(32).toString('base64'),
    stateDir,
    port,
    host: options.host,
    // On loopback, only this machine's names are answered: a web page made to resolve to
    // 127.0.0.1 (DNS rebinding) read the folder's functions otherwise (red team round 11).
    ...(isLoopback(options.host) ? { localHostsOnly: true } : {}),
    ...(options.unsafeNoSandbox ? { unsafeNoSandbox: true } : {}),
    ...(depsRoot !== null ? { depsRoot } : {}),
    runtimeEnv: options.runtimeEnv,
    observer: options.observer,
    log: options.log,
  });
  let platform: StartedPlatform;
  let depsCacheBusy = false;
  // A cache another local user could change (its sites are imported at the next start), or one
  // that cannot be written, is not used.
  const cache = options.depsRoot === null ? null : usableCacheDir(options.depsRoot);
  const depsRoot = cache !== null && 'path' in cache ? cache.path : null;
  const depsCacheRefused = cache !== null && 'problem' in cache ? cache.problem : null;
  try {
    try {
      platform = await start(depsRoot);
    } catch (err) {
      // Another dev of the same folder holds its cache: this one builds in its own state.
      if (depsRoot === null || (err as { code?: unknown }).code !== 'STATE_DIR_IN_USE' || !String((err as Error).message).includes(depsRoot)) throw err;
      depsCacheBusy = true;
      platform = await start(null);
    }
  } catch (err) {
    await rm(stateDir, { recursive: true, force: true });
    throw startError(err, port);
  }
  // A fresh state directory: this start issued the token (handed over once, kept by no one else).
  const token = platform.takeAdminToken()!;
  let closing: Promise<void> | null = null;
  return {
    platform,
    url: platform.url,
    token,
    stateDir,
    depsRoot: depsCacheBusy || depsRoot === null ? join(stateDir, 'deps') : depsRoot,
    depsCacheBusy,
    depsCacheRefused,
    close() {
      closing ??= platform.close().finally(() => rm(stateDir, { recursive: true, force: true }));
      return closing;
    },
  };
}
