/**
 * An upgrade refused for its secrets key writes nothing (docs/adr/0171-a-refused-start-writes-nothing.md):
 * the key check reads the store as the older build left it, before the migrations. Before, a start
 * that stopped with SECRETS_KEY_UNKNOWN had already moved platform.db to the new schema, so the
 * older build then refused it (STORE_SCHEMA_TOO_NEW) and going back needed the backup.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import Database from 'better-sqlite3';
import { SCHEMA_VERSION } from '../../controlplane/store/sqlite/migrations.js';
import { DOWN, migrateDown } from '../helpers/schema-down.js';
import { startPlatform, type StartOptions } from '../../platform/start.js';
import { Api, fnName } from './platform-harness.js';

/** The state directory's files other than SQLite's -wal/-shm (made by any open), with their bytes. */
function files(dir: string): Map<string, string> {
  const out = new Map<string, string>();
  for (const entry of readdirSync(dir, { withFileTypes: true, recursive: true })) {
    if (!entry.isFile() || /-(wal|shm)$/.test(entry.name)) continue;
    const path = join(entry.parentPath, entry.name);
    out.set(path, readFileSync(path).toString('base64'));
  }
  return out;
}

describe('an upgrade refused for its secrets key (embedded store)', { timeout: 90_000 }, () => {
  const work = mkdtempSync(join(tmpdir(), 'fp-upgrade-key-'));
  after(() => rmSync(work, { recursive: true, force: true }));
  const stateDir = join(work, 'state');
  const keyFile = join(work, 'config', 'secrets.key');
  const options: StartOptions = { stateDir, port: 0, poolSize: 1, shutdownGraceMs: 2000, secretsKeyFile: keyFile, log: () => {} };

  it('leaves the older state unchanged (not migrated), and the right key then upgrades it', async () => {
    assert.ok(DOWN[SCHEMA_VERSION] !== undefined, `migration ${SCHEMA_VERSION} is new: give it its down step in test/helpers/schema-down.ts`);
    const name = fnName('upkey');
    const first = await startPlatform(options);
    try {
      const api = new Api(first.url, first.takeAdminToken()!);
      const made = await api.call('POST', '/functions', { name, secrets: { DB_PASSWORD: `pw-${randomBytes(6).toString('hex')}` } });
      assert.equal(made.status, 201, JSON.stringify(made.body));
    } finally {
      await first.close();
    }
    // The state as the build before the newest migration left it.
    const db = new Database(join(stateDir, 'platform.db'));
    migrateDown(db, SCHEMA_VERSION, SCHEMA_VERSION - 1);
    db.close();
    const before = files(stateDir);

    const lines: string[] = [];
    const otherKey = join(work, 'other', 'secrets.key');
    await assert.rejects(startPlatform({ ...options, secretsKeyFile: otherKey, log: (l) => lines.push(l) }), (err: unknown) => {
      assert.equal((err as { code?: string }).code, 'SECRETS_KEY_UNKNOWN', String(err));
      // The key file this start created for nothing is removed, as before.
      assert.match(String((err as Error).message), /the new key file this start had created .* was removed/);
      return true;
    });
    assert.equal(existsSync(otherKey), false);
    assert.deepEqual(lines.filter((l) => /upgraded/.test(l)), [], 'no upgrade said');
    assert.deepEqual(files(stateDir), before, 'the state directory is as the older build left it');
    const check = new Database(join(stateDir, 'platform.db'), { readonly: true });
    assert.equal((check.prepare('SELECT max(version) AS v FROM schema_version').get() as { v: number }).v, SCHEMA_VERSION - 1);
    check.close();

    // With its key, the same start upgrades it.
    const upgraded: string[] = [];
    const again = await startPlatform({ ...options, log: (l) => upgraded.push(l) });
    await again.close();
    assert.ok(upgraded.some((l) => l.includes(`from schema ${SCHEMA_VERSION - 1} to ${SCHEMA_VERSION}`)), upgraded.join('\n'));
  });
});
