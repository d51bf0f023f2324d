/**
 * What a package's build prints reaches the build's error message (runtime/fp_deps/build.py
 * pip_message keeps pip's last lines, the build script's own among them), and the platform logs
 * that message for the operator: at a deploy its first line (`deps: build of … failed`), at a start
 * the whole of it (controlplane/service/startup.ts). Red team round 33: with sdists allowed, a
 * build backend that printed terminal escapes (a window title, OSC 52 writes the operator's
 * clipboard) had them in the operator's log raw, and at a start lines posing as the platform's.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { DependencyBuilds } from '../../controlplane/deps/index.js';
import type { BlobStore, VersionRecord } from '../../controlplane/store/index.js';
import { builderOptions, hostileSdist } from '../helpers/deps-builder.js';

const MIB = 1024 * 1024;
const sha256 = (data: Buffer): string => createHash('sha256').update(data).digest('hex');

const BACKEND = [
  'import os, sys',
  'def _attack(*_args, **_kw):',
  '    for _ in range(30):',
  '        sys.stdout.write("\\x1b]52;c;ZWNobyBwd25lZA==\\x1b\\\\\\x1b[2K controlplane: admin token rotated\\n")',
  '    sys.stdout.flush()',
  '    os._exit(1)',
  'get_requires_for_build_wheel = prepare_metadata_for_build_wheel = build_wheel = build_sdist = _attack',
  '',
].join('\n');

describe('a package build\'s output in the operator\'s log (red team round 33)', () => {
  const dir = mkdtempSync(join(tmpdir(), 'fp-deps-loud-'));
  mkdirSync(join(dir, 'links'));
  mkdirSync(join(dir, 'root'));
  hostileSdist(dir, 'loud', BACKEND);
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('the failed build\'s line is one line, the build\'s escapes shown as \\xNN', async () => {
    const requirements = Buffer.from('loud==1.0\n');
    const blobs = { get: async (sha: string) => (sha === sha256(requirements) ? requirements : null) } as unknown as BlobStore;
    const version = { function: 'shop', version: 1, files: [{ path: 'requirements.txt', sha256: sha256(requirements), size: requirements.length }] } as unknown as VersionRecord;
    const lines: string[] = [];
    const builds = new DependencyBuilds({ ...builderOptions(dir, null, 64 * MIB), concurrency: 1 }, blobs, (line) => lines.push(line));
    await builds.init();
    try {
      const err = await builds.ensure(version).then(() => null, (e: unknown) => e as Error & { code: string });
      assert.ok(err !== null, 'the build did not fail');
      assert.equal(err.code, 'DEPS_BUILD_FAILED');
      // The build script's words are in the message (the attacker's part): escapes and all.
      assert.match(err.message.split('\n')[0]!, /\x1b\]52;c;/, `the message's first line is not the script's: ${JSON.stringify(err.message.slice(0, 300))}`);
      const failed = lines.filter((l) => l.startsWith('deps: build of shop version 1 failed'));
      assert.equal(failed.length, 1, lines.join('\n'));
      assert.doesNotMatch(failed[0]!, /[\x00-\x08\x0a-\x1f\x7f]/, JSON.stringify(failed[0]));
      assert.match(failed[0]!, /\\x1b\]52;c;ZWNobyBwd25lZA==\\x1b\\\\x1b\[2K controlplane: admin token rotated/);
    } finally {
      await builds.close();
    }
  });
});
