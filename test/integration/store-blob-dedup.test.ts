/**
 * Contents are stored once for the install, but an upload must not tell one workspace that
 * another stored the same bytes (red team round 21, red24): the shortcut for stored content (no
 * write, no fsync) answered sooner, so a tenant uploading guesses of another's file learned which
 * guess was stored. A workspace's first upload of any content is written as a new one is. Counted
 * in bytes written (`/proc/self/io`), not in time.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { scopedBlobs } from '../../controlplane/service/scoped-blobs.js';
import { sha256 } from '../e2e/platform-harness.js';
import { useSqliteStore } from '../helpers/sqlite-store.js';

const SIZE = 2 * 1024 * 1024;

/** Bytes this process wrote so far (every thread). */
function written(): number {
  return Number(/wchar:\s*(\d+)/.exec(readFileSync('/proc/self/io', 'utf8'))![1]);
}

async function bytesWrittenBy(action: () => Promise<unknown>): Promise<number> {
  const before = written();
  await action();
  return written() - before;
}

describe('uploading content another workspace stored', () => {
  const h = useSqliteStore('fp-blob-dedup-');

  it('writes it as new content is written, and still stores it once', async () => {
    const { store } = h;
    const victim = scopedBlobs(store.blobs, store.blobGrants, 'victim');
    const attacker = scopedBlobs(store.blobs, store.blobGrants, 'attacker');
    const secret = randomBytes(SIZE);
    const guess = randomBytes(SIZE);
    assert.ok((await bytesWrittenBy(() => victim.put(secret, sha256(secret)))) >= SIZE, 'new content is written');
    assert.ok((await bytesWrittenBy(() => victim.put(secret, sha256(secret)))) < SIZE / 2, 'a workspace\'s own content again is not');
    let put: { created: boolean } | undefined;
    const stored = await bytesWrittenBy(async () => { put = await attacker.put(secret, sha256(secret)); });
    const fresh = await bytesWrittenBy(() => attacker.put(guess, sha256(guess)));
    assert.ok(fresh >= SIZE);
    assert.ok(stored >= SIZE, `content only another workspace held: ${stored} bytes written, against ${fresh} for a new one`);
    assert.equal(put!.created, true, 'new to this workspace');
    assert.deepEqual(await attacker.get(sha256(secret)), secret);
    assert.equal(await store.blobs.size(sha256(secret)), SIZE);
    assert.deepEqual(await store.blobs.touch([sha256(secret), sha256(guess)]), [], 'both stored');
  });
});
