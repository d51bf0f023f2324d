/**
 * Red team of 2026-12-05, fourth round: what the platform does with every version of a function
 * held the event loop that serves every workspace's calls. The dependency-site collector read every
 * version of every workspace in one go. With the embedded store each read is synchronous, so its `await`s never let
 * the event loop run: a `deployer` token that uploaded 8 000 versions of 1 000 files (each naming
 * one stored content by hash, no quota counts them) froze every workspace's calls for 3.6 s a
 * minute after any function was deleted. The walk now yields every few milliseconds
 * (controlplane/service/deps-collect.ts, WALK_SLICE_MS). Deleting such a function was one SQLite
 * transaction: a 2 s block. Its versions and runs now go a few rows at a time
 * (controlplane/store/sqlite/functions.ts, DELETE_SLICE_MS).
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { checkBundle, saveBundle } from '../../controlplane/bundles/index.js';
import { collectDependencySites } from '../../controlplane/service/deps-collect.js';
import type { FileEntry, Store, VersionRecord } from '../../controlplane/store/index.js';
import { openSqliteStore } from '../../controlplane/store/sqlite/index.js';
import { settings, uniqueName } from '../conformance/fixtures.js';
import { testKeyring } from '../helpers/keyring.js';

const VERSIONS = 1000;
const FILES = 1000;

let dir: string;
let store: Store;
let name: string;

/** Runs `work` and returns how long it took and the longest time the event loop went without a turn meanwhile. */
async function stalls(work: () => Promise<unknown>): Promise<{ tookMs: number; longestMs: number }> {
  let last = performance.now();
  let longest = 0;
  const beat = setInterval(() => {
    const now = performance.now();
    longest = Math.max(longest, now - last);
    last = now;
  }, 1);
  const started = performance.now();
  try {
    await work();
  } finally {
    clearInterval(beat);
  }
  const now = performance.now();
  return { tookMs: now - started, longestMs: Math.max(longest, now - last) };
}

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'fp-many-versions-'));
  store = await openSqliteStore({ keyring: testKeyring(), stateDir: join(dir, 'state') });
  name = uniqueName();
  await store.functions.create(name, settings());
  const [main] = await saveBundle(checkBundle({ 'main.py': Buffer.from('def handler(e, c):\n    return 1\n').toString('base64') }), store.blobs);
  // One stored content named by 1 000 paths: what the attacker's uploads were.
  const files: FileEntry[] = [main!, ...Array.from({ length: FILES - 1 }, (_, i) => ({ ...main!, path: `pkg/m${i}.py` }))];
  for (let i = 0; i < VERSIONS; i++) await store.versions.create({ function: name, entrypoint: 'main:handler', files, manifest: {}, createdBy: 'attacker' });
});

after(async () => {
  await store.close();
  await rm(dir, { recursive: true, force: true });
});

describe('attack: a function of many versions', () => {
  it('reads every version without holding the event loop: the longest stall is a small part of the walk', async (t) => {
    let read = 0;
    const deps = {
      keyOf: (_version: VersionRecord): string | null => {
        read++;
        return null;
      },
      collect: async () => ({ records: 0, sites: 0 }),
    };
    const { tookMs: walkMs, longestMs: longest } = await stalls(() => collectDependencySites({ store, deps: deps as never, log: () => {} }, 60_000));
    assert.equal(read, VERSIONS);
    // Without the slices the walk was one block: its longest stall was the walk itself. (On a
    // machine fast enough to walk them all in under 40 ms there is nothing to tell: said, not failed.)
    t.diagnostic(`the walk took ${walkMs.toFixed(0)} ms, the longest stall ${longest.toFixed(0)} ms`);
    if (walkMs > 40) assert.ok(longest < walkMs / 2, `the event loop stalled ${longest.toFixed(0)} ms during a walk of ${walkMs.toFixed(0)} ms`);
  });

  it('deletes a function of many versions without holding the event loop, and removes all of it', async (t) => {
    const revision = (await store.functions.get(name))!.revision;
    const { tookMs, longestMs } = await stalls(() => store.functions.delete(name, revision));
    assert.equal(await store.functions.get(name), null);
    assert.deepEqual(await store.versions.list(name), []);
    // Without the slices the delete was one transaction: its longest stall was the delete itself.
    t.diagnostic(`the delete took ${tookMs.toFixed(0)} ms, the longest stall ${longestMs.toFixed(0)} ms`);
    if (tookMs > 40) assert.ok(longestMs < tookMs / 2, `the event loop stalled ${longestMs.toFixed(0)} ms during a delete of ${tookMs.toFixed(0)} ms`);
  });
});
