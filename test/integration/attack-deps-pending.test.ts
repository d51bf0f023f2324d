/**
 * Red team round 49: the pending build notes (ADR 0239, `deps/.inputs/<key>.pending`). A start
 * reads at most 256 of them; they were taken in file-name order (a key's hash), so a workspace
 * with many uploads of distinct requirements queued when the platform was killed left another
 * workspace's interrupted build out: it did not start again until something read its version (a
 * deploy waiting in another process waited on). The notes are now taken from the workspaces in turn.
 *
 * The builds here cannot run (no Python: they fail at once); what counts is which versions a start
 * reads back. No note names a file: keys are sha256 hex (a name that is not is ignored), the note's
 * version is read from the store and must give the note's key (tested below too).
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, describe, it } from 'node:test';
import { DependencyBuilds } from '../../controlplane/deps/index.js';
import type { BlobStore, VersionRecord } from '../../controlplane/store/index.js';
import { pythonlessOptions } from '../helpers/deps-builder.js';

const RUNTIME = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..', 'runtime');
const sha256 = (text: string | Buffer): string => createHash('sha256').update(text).digest('hex');

describe('attack: the pending build notes', () => {
  const work = mkdtempSync(join(tmpdir(), 'fp-deps-pending-'));
  after(() => rmSync(work, { recursive: true, force: true }));
  const opts = pythonlessOptions(work, RUNTIME);
  const contents = new Map<string, Buffer>();
  const blobs = { get: async (sha: string) => contents.get(sha) ?? null } as unknown as BlobStore;
  const versions = new Map<string, VersionRecord>();
  function versionOf(fn: string, n: number, text: string): VersionRecord {
    const data = Buffer.from(text);
    contents.set(sha256(data), data);
    const version = { function: fn, version: n, files: [{ path: 'requirements.txt', sha256: sha256(data), size: data.length }] } as unknown as VersionRecord;
    versions.set(`${fn}@${n}`, version);
    return version;
  }

  it('one workspace\'s many interrupted builds leave another\'s started again at the next start', { timeout: 60_000 }, async () => {
    const builds = new DependencyBuilds(opts, blobs, () => undefined);
    await builds.init();
    const inputs = join(opts.root, '.inputs');
    const note = (key: string, v: VersionRecord): void => writeFileSync(join(inputs, `${key}.pending`), JSON.stringify({ function: v.function, version: v.version }));
    try {
      // The victim's key sorts late (its requirements varied until it does), and 300 of the attacker's before it.
      let victim: VersionRecord | null = null;
      let victimKey = '';
      for (let i = 0; victimKey < 'c'; i++) {
        victim = versionOf('app.victim', 1, `six==1.16.0\n# v${i}\n`);
        victimKey = (await builds.keyOf(victim))!;
      }
      note(victimKey, victim!);
      let before = 0;
      for (let i = 0; before < 300; i++) {
        const v = versionOf('hog.attacker', i + 1, `six==1.16.0\n# ${i}\n`);
        const key = (await builds.keyOf(v))!;
        if (key >= victimKey) continue;
        note(key, v);
        before++;
      }
      // A note under a name that is no key, and one naming a version whose key is another: neither read nor built.
      writeFileSync(join(inputs, '..%2f..%2fsecrets.key.pending'), JSON.stringify({ function: 'app0.victim', version: 1 }));
      note('0'.repeat(64), versionOf('stray.victim', 1, 'six==1.16.0\n# stray\n'));

      const restarted = new DependencyBuilds(opts, blobs, () => undefined);
      await restarted.init();
      const read: string[] = [];
      try {
        await restarted.resumePending(async (fn, n) => {
          read.push(`${fn}@${n}`);
          return versions.get(`${fn}@${n}`) ?? null;
        });
        assert.equal(read.length, 256, 'at most 256 notes are read back');
        assert.ok(read.includes(`${victim!.function}@1`), 'the other workspace\'s interrupted build was not started again');
        const left = readdirSync(inputs);
        assert.ok(left.includes('..%2f..%2fsecrets.key.pending'), 'a name that is no key is left alone');
        assert.equal(left.includes(`${'0'.repeat(64)}.pending`), false, 'a note whose version gives another key is removed');
      } finally {
        await restarted.close();
      }
    } finally {
      await builds.close();
    }
  });
});
