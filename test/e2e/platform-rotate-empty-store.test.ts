/**
 * `--rotate-admin-token` on a store that holds no platform (new-user round 5): in production a
 * mistyped FP_MONGO_DB opened an empty database, and the rotation started a new platform there and
 * printed its first token as the replacement. The store decides (controlplane/service/startup.ts);
 * shown here with the embedded store, started from code past main.ts's own check.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { startPlatform } from '../../platform/start.js';

describe('--rotate-admin-token on a store without a platform', { timeout: 60_000 }, () => {
  const work = mkdtempSync(join(tmpdir(), 'fp-rotate-empty-'));
  after(() => rmSync(work, { recursive: true, force: true }));
  const options = { port: 0, poolSize: 1, shutdownGraceMs: 2000, secretsKeyFile: join(work, 'keys', 'secrets.key'), log: () => {} };

  it('refuses (USAGE) naming the settings to check, and issues no token', async () => {
    await assert.rejects(startPlatform({ ...options, stateDir: join(work, 'empty'), rotateAdminToken: true }), (err: unknown) => {
      assert.equal((err as { code?: string }).code, 'USAGE');
      assert.match((err as Error).message, /--rotate-admin-token replaces the admin token of an existing platform, and this store holds none .*FP_MONGO_DB.*nothing was served/);
      return true;
    });
    // The same store, started plainly, is a first start: its first admin token comes then.
    const platform = await startPlatform({ ...options, stateDir: join(work, 'empty') });
    try {
      assert.match(platform.takeAdminToken() ?? '', /^fpa_/);
    } finally {
      await platform.close();
    }
    // And a rotation of a platform that exists still works.
    const rotated = await startPlatform({ ...options, stateDir: join(work, 'empty'), rotateAdminToken: true });
    try {
      assert.match(rotated.takeAdminToken() ?? '', /^fpa_/);
    } finally {
      await rotated.close();
    }
  });
});
