/**
 * The state directory's disk full (reliability probe of 2026-12-04): the API answered 500
 * INTERNAL_ERROR ("a platform bug") to every write, and a blob upload left an empty file behind.
 * Now: 507 STORAGE_FULL, nothing left behind, and once space is freed the same requests work,
 * with no restart. On a small tmpfs of its own (root only: mounting one needs it).
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { startPlatform, type StartedPlatform } from '../../platform/start.js';
import { Api, errorOf, TEST_SECRETS_KEY } from './platform-harness.js';

const skip = process.getuid?.() === 0 ? false : 'mounting a tmpfs needs root';

describe('a full state directory', { skip }, () => {
  let dir = '';
  let platform: StartedPlatform | undefined;
  let api: Api;
  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'fp-full-'));
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=40m', 'tmpfs', dir]);
    platform = await startPlatform({ stateDir: join(dir, 'state'), port: 0, poolSize: 1, shutdownGraceMs: 1000, secretsKey: TEST_SECRETS_KEY, data: 'off', log: () => {} });
    api = new Api(platform.url, platform.takeAdminToken() ?? null);
  });
  after(async () => {
    await platform?.close();
    if (dir !== '') {
      execFileSync('umount', [dir]);
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('refuses writes with 507 STORAGE_FULL, leaves no partial blob, and takes them again once space is freed', async () => {
    assert.equal((await api.call('POST', '/functions', { name: 'before' })).status, 201);
    // Fill what is left (dd stops at ENOSPC).
    const filler = join(dir, 'filler');
    try {
      execFileSync('dd', ['if=/dev/zero', `of=${filler}`, 'bs=1M', 'count=64'], { stdio: 'ignore' });
    } catch {
      // "No space left on device": as intended
    }
    const blob = Buffer.alloc(256 * 1024, 7);
    const sha = createHash('sha256').update(blob).digest('hex');
    const put = await fetch(`${platform!.url}/api/v1/blobs/${sha}`, { method: 'PUT', headers: { authorization: `Bearer ${api.token}` }, body: blob });
    const putBody = await put.json() as { error: { code: string; message: string } };
    assert.equal(put.status, 507, JSON.stringify(putBody));
    assert.equal(putBody.error.code, 'STORAGE_FULL');
    assert.deepEqual(readdirSync(join(dir, 'state', 'blobs', 'tmp')), [], 'no partial blob left in tmp/');
    const create = await api.call('POST', '/functions', { name: 'during', env: { PAD: 'x'.repeat(60_000) } });
    assert.equal(create.status, 507, JSON.stringify(create.body));
    assert.equal(errorOf(create).code, 'STORAGE_FULL');
    // Space freed: the same requests work, no restart.
    rmSync(filler);
    assert.equal((await fetch(`${platform!.url}/api/v1/blobs/${sha}`, { method: 'PUT', headers: { authorization: `Bearer ${api.token}` }, body: blob })).status, 201);
    assert.equal((await api.call('POST', '/functions', { name: 'during', env: { PAD: 'x'.repeat(60_000) } })).status, 201);
  });
});
