/**
 * What both store adapters share about deleting versions and collecting their contents
 * (docs/adr/0098-deleting-versions.md, docs/adr/0099-collecting-contents.md): touching a new
 * version's contents before it is stored, within a bound the collector's grace period covers, and
 * retention by count. One definition, so the adapters prune and refuse alike.
 */
import { performance } from 'node:perf_hooks';
import { isStoreError, StoreError } from './errors.js';
import type { BlobStore, FileEntry, VersionStore } from './types.js';

/** Contents used by no version are collected once they were not put or touched for this long. */
export const BLOB_GRACE_MS = 60 * 60_000;

/**
 * A version is stored within this of touching its contents, or refused (REVISION_CONFLICT, retry):
 * with a grace twice as long, a content the collector found unused and untouched cannot be one a
 * version stored meanwhile uses (ADR 0099).
 */
export const TOUCH_VALID_MS = BLOB_GRACE_MS / 2;

/**
 * Touches the contents of a version about to be stored; BLOB_NOT_FOUND names the first file whose
 * content the blob store lacks. Returns a check to call just before (and after) the version is
 * written: REVISION_CONFLICT once TOUCH_VALID_MS has passed.
 */
export async function touchContents(blobs: BlobStore, files: readonly FileEntry[]): Promise<() => void> {
  const started = performance.now();
  const bySha = new Map<string, string>();
  for (const f of files) if (!bySha.has(f.sha256)) bySha.set(f.sha256, f.path);
  const missing = new Set(await blobs.touch([...bySha.keys()]));
  const first = [...bySha.entries()].find(([sha]) => missing.has(sha));
  if (first !== undefined) {
    throw new StoreError('BLOB_NOT_FOUND', `the content of ${first[1]} (${first[0]}) was never uploaded`, { path: first[1], sha256: first[0] });
  }
  return () => {
    if (performance.now() - started > TOUCH_VALID_MS) {
      throw new StoreError('REVISION_CONFLICT', 'the version took too long to store after its contents were checked; upload it again', {});
    }
  };
}

/**
 * Retention by count, on any VersionStore: every version but the `keep` newest and `protect`,
 * oldest first, each through `delete` (which refuses the active one and the draft's base: those
 * are passed over). `keep` 0 or less: nothing.
 */
export async function pruneVersions(versions: Pick<VersionStore, 'list' | 'delete'>, fn: string, keep: number, protect: readonly number[] = []): Promise<number[]> {
  if (!(keep > 0)) return [];
  const numbers: number[] = [];
  for (let before: number | undefined; ;) {
    const page = await versions.list(fn, { limit: 1000, ...(before !== undefined ? { before } : {}) });
    numbers.push(...page.map((v) => v.version));
    if (page.length < 1000) break;
    before = page[page.length - 1]!.version;
  }
  const kept = new Set(protect);
  const doomed = numbers.slice(keep).filter((v) => !kept.has(v)).reverse();
  const deleted: number[] = [];
  for (const version of doomed) {
    try {
      await versions.delete(fn, version);
      deleted.push(version);
    } catch (err) {
      if (isStoreError(err, 'VERSION_ACTIVE') || isStoreError(err, 'VERSION_IN_USE') || isStoreError(err, 'VERSION_NOT_FOUND')) continue;
      throw err;
    }
  }
  return deleted;
}
