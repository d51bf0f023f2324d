/**
 * Dependency builds driven directly (controlplane/deps/builder.ts `runBuild`), for the builder's
 * integration tests: the options of a build on this machine's runtime, and hostile sdists whose
 * in-tree build backend runs as soon as pip asks it anything (sdists allowed).
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import type { DepsOptions } from '../../controlplane/deps/types.js';
import { defaultPoolConfig, resolveSandbox } from '../../poolmgr/index.js';

const MIB = 1024 * 1024;

/** <name>-1.0.tar.gz in <dir>/links, an sdist whose build backend is its own backend.py. */
export function hostileSdist(dir: string, name: string, backend: string): void {
  const src = join(dir, 'src', `${name}-1.0`);
  mkdirSync(src, { recursive: true });
  writeFileSync(join(src, 'pyproject.toml'), '[build-system]\nrequires = []\nbuild-backend = "backend"\nbackend-path = ["."]\n');
  writeFileSync(join(src, 'backend.py'), backend);
  writeFileSync(join(src, 'PKG-INFO'), `Metadata-Version: 2.1\nName: ${name}\nVersion: 1.0\n`);
  execFileSync('tar', ['czf', join(dir, 'links', `${name}-1.0.tar.gz`), '-C', join(dir, 'src'), `${name}-1.0`]);
}

/**
 * A build with `<dir>/links` as its wheel directory, sdists allowed, state in `<dir>/root`. Without
 * cgroups its box's RLIMIT_NPROC (BUILD_TASKS) counts every process of its uid on the host, so such a
 * build gets a uid of its own: deps-builder-limits' hog holds 1024 tasks of 599999 in its cgroup, on
 * purpose, and a build of another file running beside it under that uid could not fork (CI
 * 2026-12-06: deps-sdist-build-requirements, EAGAIN at pip's start).
 */
export function builderOptions(dir: string, cgroups: DepsOptions['cgroups'], maxBytes: number): DepsOptions {
  const pool = defaultPoolConfig();
  return {
    root: join(dir, 'root'), pythonPath: pool.pythonPath, runtimeDir: dirname(pool.runtimeEntry),
    path: pool.childEnv['PATH'] ?? '/usr/bin:/bin', sandbox: resolveSandbox('auto'), builderUid: cgroups === null ? 599998 : 599999,
    indexUrl: null, extraIndexUrls: [], findLinks: join(dir, 'links'), allowSdist: true, caFile: null, allowHosts: [],
    timeoutMs: 90_000, maxBytes, memoryBytes: 256 * MIB, concurrency: 1, keepMs: 3_600_000, cgroups,
  };
}

/**
 * Options whose builds cannot run (no Python at `<work>/no-python`: each fails at once), state in
 * `<work>/deps`: for tests of what the platform keeps about builds (keys, records, pending notes).
 */
export function pythonlessOptions(work: string, runtimeDir: string): DepsOptions {
  return {
    root: join(work, 'deps'), pythonPath: join(work, 'no-python'), runtimeDir, path: '/usr/bin:/bin',
    sandbox: 'off', builderUid: 0, idmap: null, indexUrl: 'https://pypi.org/simple', extraIndexUrls: [], findLinks: null,
    allowSdist: false, caFile: null, allowHosts: [], timeoutMs: 5_000, maxBytes: 1 << 30, memoryBytes: 1 << 30, concurrency: 1,
  } as unknown as DepsOptions;
}
