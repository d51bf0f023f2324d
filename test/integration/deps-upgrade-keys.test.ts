/**
 * An install upgraded from a build of before 2026-12-05, when a dependency build's key had no
 * workspace in it (`scope: null`), keeps its functions' dependency sites: the first start of the
 * new build found no record under the new per-workspace key and resolved every requirements.txt
 * again, so with the package index out of reach each function with one stopped being served
 * (FUNCTION_NOT_DEPLOYED: "cannot write api version 1 to disk (the package index could not be
 * reached …)") though its site was on disk (upgrade round 1, probe-upgrade1/FINDINGS.md).
 *
 * The record below is what the old build wrote to `deps/.inputs/<key>.json`, under the key it
 * computed (the same fingerprint as now, scope null). The builds here cannot run (no Python): a
 * build started instead of adopting the record fails the test.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, describe, it } from 'node:test';
import { DependencyBuilds } from '../../controlplane/deps/index.js';
import type { BlobStore, VersionRecord } from '../../controlplane/store/index.js';
import { pythonlessOptions } from '../helpers/deps-builder.js';

const RUNTIME = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..', 'runtime');
const sha256 = (text: string | Buffer): string => createHash('sha256').update(text).digest('hex');

describe('dependency builds across an upgrade', () => {
  const work = mkdtempSync(join(tmpdir(), 'fp-deps-upgrade-'));
  after(() => rmSync(work, { recursive: true, force: true }));

  const opts = pythonlessOptions(work, RUNTIME);
  const requirements = Buffer.from('six==1.16.0\n');
  const blobs = { get: async (sha: string) => (sha === sha256(requirements) ? requirements : null) } as unknown as BlobStore;
  const version = { function: 'api', version: 1, files: [{ path: 'requirements.txt', sha256: sha256(requirements), size: requirements.length }] } as unknown as VersionRecord;

  /** The key the builds of before 2026-12-05 gave this version (controlplane/deps/service.ts then). */
  function earlierKey(): string {
    const pins = readFileSync(join(RUNTIME, 'requirements.txt'), 'utf8');
    const fingerprint = sha256(JSON.stringify({ v: 1, python: opts.pythonPath, pins, index: opts.indexUrl, extra: opts.extraIndexUrls, links: opts.findLinks, sdist: opts.allowSdist }));
    return sha256(JSON.stringify({ fingerprint, files: [['requirements.txt', sha256(requirements)]], scope: null }));
  }

  it('a ready site recorded under the key of before builds were per workspace is kept, not resolved again', async () => {
    const lock = 'ab'.repeat(32);
    mkdirSync(join(opts.root, lock, 'site', 'six'), { recursive: true });
    mkdirSync(join(opts.root, '.inputs'), { recursive: true });
    const old = { state: 'ready', lock, packages: [{ name: 'six', version: '1.16.0' }], bytes: 92680, error: null, startedAt: 1, finishedAt: 2, log: 'Successfully installed six-1.16.0\n' };
    writeFileSync(join(opts.root, '.inputs', `${earlierKey()}.json`), JSON.stringify(old));
    const lines: string[] = [];
    const builds = new DependencyBuilds(opts, blobs, (line) => lines.push(line));
    await builds.init();
    try {
      assert.equal(await builds.wouldBuild(version), false, 'an upload of the same requirements builds nothing');
      const site = await builds.ensure(version);
      assert.equal(site, join(opts.root, lock, 'site'));
      const status = await builds.status(version);
      assert.equal(status?.state, 'ready');
      assert.deepEqual(status?.packages, old.packages);
      // Kept under the new key too, saying so (the old log may have been another workspace's build).
      const key = await builds.keyOf(version);
      assert.notEqual(key, earlierKey());
      const kept = JSON.parse(readFileSync(join(opts.root, '.inputs', `${key}.json`), 'utf8'));
      assert.equal(kept.lock, lock);
      assert.match(kept.log, /kept from before the upgrade/);
      assert.ok(lines.some((l) => /api version 1 keeps its dependency site from before the upgrade/.test(l)), lines.join('\n'));
    } finally {
      await builds.close();
    }
  });

  it('an earlier record whose site is gone is built again, and the start says why', async () => {
    rmSync(opts.root, { recursive: true, force: true });
    mkdirSync(join(opts.root, '.inputs'), { recursive: true });
    const old = { state: 'ready', lock: 'cd'.repeat(32), packages: [{ name: 'six', version: '1.16.0' }], bytes: 1, error: null, startedAt: 1, finishedAt: 2, log: '' };
    writeFileSync(join(opts.root, '.inputs', `${earlierKey()}.json`), JSON.stringify(old));
    const lines: string[] = [];
    const builds = new DependencyBuilds(opts, blobs, (line) => lines.push(line));
    await builds.init();
    try {
      assert.equal(await builds.wouldBuild(version), true);
      await assert.rejects(builds.ensure(version), 'no site: a build starts, and fails here without Python');
      // Said, since it needs the package index (a changed runtime or a moved checkout does this too).
      assert.ok(lines.some((l) => /api version 1 has no dependency build for this platform's Python, runtime pins and index settings/.test(l)), lines.join('\n'));
      assert.equal(existsSync(join(opts.root, old.lock)), false);
      assert.deepEqual(readdirSync(join(opts.root, '.inputs')).length, 2);
    } finally {
      await builds.close();
    }
  });
});
