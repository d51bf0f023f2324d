/**
 * Red team of 2026-12-05, fourth round: the dependency-site collector read every version of every
 * workspace in one go. With the embedded store each read is synchronous, so its `await`s never let
 * the event loop run: a `deployer` token that uploaded 8 000 versions of 1 000 files (each naming
 * one stored content by hash, no quota counts them) froze every workspace's calls for 3.6 s a
 * minute after any function was deleted. The walk now yields every few milliseconds
 * (controlplane/service/deps-collect.ts, WALK_SLICE_MS).
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

const VERSIONS = 800;
const FILES = 1000;

let dir: string;
let store: Store;

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'fp-deps-walk-'));
  store = await openSqliteStore({ keyring: testKeyring(), stateDir: join(dir, 'state') });
  const name = uniqueName();
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

describe('attack: the dependency collector and many versions', () => {
  it('reads every version without holding the event loop: the longest stall is a small part of the walk', async () => {
    let read = 0;
    const deps = {
      keyOf: (_version: VersionRecord): string | null => {
        read++;
        return null;
      },
      collect: async () => ({ records: 0, sites: 0 }),
    };
    // The longest time between two turns of the event loop while the walk runs.
    let last = performance.now();
    let longest = 0;
    const beat = setInterval(() => {
      const now = performance.now();
      longest = Math.max(longest, now - last);
      last = now;
    }, 1);
    const started = performance.now();
    try {
      await collectDependencySites({ store, deps: deps as never, log: () => {} }, 60_000);
    } finally {
      clearInterval(beat);
    }
    const walkMs = performance.now() - started;
    const now = performance.now();
    longest = Math.max(longest, now - last);
    assert.equal(read, VERSIONS);
    // Without the slices the walk was one block: its longest stall was the walk itself.
    assert.ok(walkMs > 150, `the walk took ${walkMs.toFixed(0)} ms: too few versions to tell`);
    assert.ok(longest < Math.max(60, walkMs / 4), `the event loop stalled ${longest.toFixed(0)} ms during a walk of ${walkMs.toFixed(0)} ms`);
  });
});
