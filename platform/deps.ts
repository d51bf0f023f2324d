/** The dependency builder's options from the platform's (docs/dependencies.md, FP_DEPS_*). */
import { dirname } from 'node:path';
import { BUILD_TASKS, type DepsOptions } from '../controlplane/index.js';
import { builderIdMap, Cgroups, defaultPoolConfig, hostSocketShare, platformIdMap } from '../poolmgr/index.js';
import type { PlatformConfig } from './config.js';

/** How dependency builds run (docs/dependencies.md): the runtime's interpreter, the pool's kind of box. */
export function depsOptions(config: PlatformConfig, root: string, path: string | undefined, sandbox: DepsOptions['sandbox']): DepsOptions {
  const list = (text: string): string[] => text.split(',').map((s) => s.trim()).filter((s) => s !== '');
  // The pool's interpreter and runtime directory, as the pool resolves them.
  const pool = defaultPoolConfig({ ...(config.pythonPath !== undefined ? { pythonPath: config.pythonPath } : {}) }, { PATH: path });
  return {
    root,
    pythonPath: pool.pythonPath,
    runtimeDir: dirname(pool.runtimeEntry),
    path: pool.childEnv['PATH'] ?? '/usr/bin:/bin',
    sandbox,
    builderUid: config.depsBuilderUid,
    // Not the platform's uid: a build script took every epoll watch of it, and libuv aborted the platform (ADR 0147).
    idmap: sandbox === 'userns' ? builderIdMap(platformIdMap().map) : null,
    indexUrl: config.depsIndexUrl === 'none' ? null : config.depsIndexUrl,
    extraIndexUrls: list(config.depsExtraIndexUrls),
    findLinks: config.depsFindLinks ?? null,
    allowSdist: config.depsAllowSdist,
    caFile: config.depsIndexCa,
    allowHosts: list(config.depsAllowHosts),
    timeoutMs: config.depsTimeoutMs,
    maxBytes: config.depsMaxBytes,
    memoryBytes: config.depsMemoryBytes,
    concurrency: config.depsConcurrency,
    keepMs: config.depsKeepMs,
    // Without cgroups (none writable) the rlimits are the builds' only limits, as for runtimes.
    // No bind guard (poolmgr/host/bind-guard.ts): a build's box has a network namespace of its own,
    // where pip's proxy listens on loopback; no host port is within its reach.
    // Builds' sockets are in a namespace of their own, but the host's TCP and UDP memory is one:
    // they share a total as the boxes do (poolmgr/host/cgroups.ts `totalSocketBytes`).
    cgroups: sandbox === 'root' ? Cgroups.open({ tasksMax: BUILD_TASKS, cpuShares: 1024, totalSocketBytes: hostSocketShare() }).cgroups : null,
  };
}

