/**
 * A start that moves an existing platform.db to a newer schema says so (platform/adapters.ts logs
 * it): from then on an older build refuses the state directory. Before upgrade round 2 the
 * start said nothing, and the first a user heard of it was the older build's STORE_SCHEMA_TOO_NEW.
 * A new file's schema is no upgrade: nothing is said.
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import Database from 'better-sqlite3';
import { generateKey, Keyring } from '../../controlplane/secrets/index.js';
import { openSqliteStore } from '../../controlplane/store/sqlite/index.js';
import { SCHEMA_VERSION } from '../../controlplane/store/sqlite/migrations.js';
import { migrateDown } from '../helpers/schema-down.js';

describe('platform.db upgrade notice', () => {
  const dirs: string[] = [];
  after(async () => { for (const d of dirs) await rm(d, { recursive: true, force: true }); });

  it('is given for an older schema moved up, not for a new file', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'fp-upgrade-notice-'));
    dirs.push(dir);
    const ring = new Keyring([generateKey()]);
    const told: [number, number][] = [];
    const onUpgraded = (from: number, to: number): void => { told.push([from, to]); };
    await (await openSqliteStore({ stateDir: dir, keyring: ring, onUpgraded })).close();
    assert.deepEqual(told, [], 'a new file is created at the current schema: no upgrade');
    // The file as the build before migration 10 left it (schema 9).
    assert.equal(SCHEMA_VERSION >= 10, true);
    const db = new Database(join(dir, 'platform.db'));
    try {
      migrateDown(db, SCHEMA_VERSION, 9);
    } finally {
      db.close();
    }
    await (await openSqliteStore({ stateDir: dir, keyring: ring, onUpgraded })).close();
    assert.deepEqual(told, [[9, SCHEMA_VERSION]]);
    await (await openSqliteStore({ stateDir: dir, keyring: ring, onUpgraded })).close();
    assert.deepEqual(told, [[9, SCHEMA_VERSION]], 'said once: the next start has nothing to move');
  });
});
