/**
 * Where deployed code lives on disk: `<stateDir>/code/<key>/<version>/` (the function key:
 * `<name>` or `<name>.<workspace>`, docs/adr/0011-tenants.md), one directory per
 * version, written once (versions are immutable) and kept while the version is active or a
 * process still runs from it; then removed (code-collect.ts): each was a whole copy, and a function
 * deployed from CI a thousand times kept a thousand (a rollback writes its version again). Files
 * are copies of the blobs made read-only: a hard link would share the blob's inode with every
 * version using it. A sandboxed runtime sees its version through a
 * read-only mount as its own uid (docs/security.md); the copies also keep an unsandboxed one
 * (--unsafe-no-sandbox, running as root) from changing the stored content.
 * Everything here can be rebuilt from the store (the start-up does so for active versions).
 * A version's dependency site (docs/dependencies.md) is ensured with its code: `ensure` waits for
 * its build, so nothing serves a version whose dependencies are not installed.
 */
import { readdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { isFunctionKey } from '../../protocol/index.js';
import { materialize } from '../bundles/index.js';
import { bindingOfManifest } from '../registry/store-registry.js';
import type { BlobStore, VersionRecord } from '../store/index.js';

export class CodeDirs {
  constructor(
    readonly root: string,
    private readonly blobs: BlobStore,
    /** Run on a freshly written version (the pool compiles its bytecode: cold starts skip it). */
    private readonly prepare: (dir: string) => Promise<boolean> = async () => true,
    /** The version's dependency site: built if needed (throws the build's DEPS_* code when it failed). */
    private readonly deps: { ensure(version: VersionRecord): Promise<string | null> } | null = null,
    /** Told of every version ensured, written now or before (the pool starts its preset's zygote, and says when it is ready). */
    private readonly expect: (dir: string, entrypoint: string, bound: boolean) => Promise<void> | void = () => {},
  ) {}

  dirOf(name: string, version: number): string {
    // The API checked the name; checking the key again here keeps any other caller inside `root`.
    if (!isFunctionKey(name) || !Number.isSafeInteger(version) || version < 1) {
      throw new Error(`not a function version: ${JSON.stringify(name)}@${version}`);
    }
    return join(this.root, name, String(version));
  }

  /** Writes the version's files unless they are there already; returns the directory. */
  async ensure(version: VersionRecord): Promise<string> {
    const dir = this.dirOf(version.function, version.version);
    // Files carry the version's creation time, whoever writes them when (materialize.ts, `mtimeMs`).
    const written = await materialize(version, this.blobs, dir, { mode: 'copy', readOnly: true, mtimeMs: version.createdAt });
    if (written.created) await this.prepare(dir);
    // The preset's zygote starts while the dependencies are ensured; the version is ready (a deploy
    // answers) once both are, so a call right after its deploy is forked from the preset too.
    const expected = this.expect(dir, version.entrypoint, bindingOfManifest(version.manifest) !== null);
    await this.deps?.ensure(version);
    await expected;
    return dir;
  }

  /** The function keys that have a directory here. */
  async functions(): Promise<string[]> {
    const entries = await readdir(this.root, { withFileTypes: true }).catch(() => []);
    return entries.filter((e) => e.isDirectory() && isFunctionKey(e.name)).map((e) => e.name);
  }

  /** Removes the version directories of `name` that `keep` does not keep; returns how many it removed. */
  async removeVersions(name: string, keep: (version: number, dir: string) => boolean): Promise<number> {
    if (!isFunctionKey(name)) return 0;
    let removed = 0;
    for (const item of await readdir(join(this.root, name)).catch(() => [])) {
      if (!/^[1-9][0-9]*$/.test(item)) continue; // `.tmp-` leftovers are prune()'s, at start
      const version = Number(item);
      const dir = this.dirOf(name, version);
      if (!Number.isSafeInteger(version) || keep(version, dir)) continue;
      await rm(dir, { recursive: true, force: true });
      removed++;
    }
    return removed;
  }

  /** Removes every version directory of a function. */
  async removeFunction(name: string): Promise<void> {
    if (!isFunctionKey(name)) return;
    await rm(join(this.root, name), { recursive: true, force: true });
  }

  /**
   * Removes directories of functions that no longer exist (e.g. deleted just before a crash) and
   * half-written `.tmp-` directories. Returns how many it removed.
   */
  async prune(existing: ReadonlySet<string>): Promise<number> {
    let removed = 0;
    const functions = await readdir(this.root, { withFileTypes: true }).catch(() => []);
    for (const fnDir of functions) {
      const path = join(this.root, fnDir.name);
      if (!existing.has(fnDir.name)) {
        await rm(path, { recursive: true, force: true });
        removed++;
        continue;
      }
      for (const item of await readdir(path).catch(() => [])) {
        if (!item.startsWith('.tmp-')) continue;
        await rm(join(path, item), { recursive: true, force: true });
        removed++;
      }
    }
    return removed;
  }
}
