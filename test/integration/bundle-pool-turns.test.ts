/**
 * Red team, round 5 of 2026-12-05 (red8): upload checks wait in the bundle pool's one queue, shared
 * by every workspace. First come first served, a tenant's many large uploads (40 MiB versions from
 * eight loops) kept it full and another workspace's small upload waited behind all of them (0.2 s
 * became 4.5-7.5 s, for as long as the tenant went on). The waiting checks now take turns by
 * workspace (controlplane/bundles/pool.ts). Real worker threads hashing real contents; the order of
 * the answers is asserted, not their times.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, describe, it } from 'node:test';
import { BundlePool } from '../../controlplane/bundles/index.js';

const MiB = 1024 * 1024;
const pool = new BundlePool({ maxThreads: 1 });
after(() => pool.close());

/** An upload body (bytes: the pool takes them over). */
function upload(bytes: number): Uint8Array {
  return Buffer.from(JSON.stringify({ files: [{ path: 'main.py', contentBase64: randomBytes(bytes).toString('base64') }] }));
}

describe('bundle pool: turns by workspace', () => {
  it('another workspace\'s upload is checked next, not after every upload a tenant queued before it', { timeout: 120_000 }, async () => {
    const answered: string[] = [];
    const tenant = Array.from({ length: 8 }, (_, i) => pool.checkUpload(upload(8 * MiB), undefined, 'att').then(() => void answered.push(`att ${i}`)));
    const victim = pool.checkUpload(upload(64), undefined, 'acme').then(() => void answered.push('acme'));
    await Promise.all([...tenant, victim]);
    // One thread: the tenant's first check was running when the victim's came; the victim's goes
    // next. Before: after all eight.
    assert.ok(answered.indexOf('acme') <= 2, `answered: ${answered.join(', ')}`);
    // Within a workspace, in order.
    assert.deepEqual(answered.filter((a) => a !== 'acme'), Array.from({ length: 8 }, (_, i) => `att ${i}`));
  });

  it('checks without a workspace (the default) are served in order, as before', async () => {
    const answered: number[] = [];
    await Promise.all(Array.from({ length: 4 }, (_, i) => pool.checkUpload(upload(MiB)).then(() => void answered.push(i))));
    assert.deepEqual(answered, [0, 1, 2, 3]);
  });
});
