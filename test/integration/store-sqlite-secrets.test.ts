/**
 * Secrets at rest in the embedded store, at the database level (docs/adr/0009-secrets-at-rest.md):
 * the one-time upgrade of an existing platform.db, rows planted by someone who can write the
 * database but has no key, and a sealed value copied into another function.
 */
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import Database from 'better-sqlite3';
import { generateKey, Keyring } from '../../controlplane/secrets/index.js';
import { TokenIndex } from '../../controlplane/service/tokens.js';
import { openSqliteStore } from '../../controlplane/store/sqlite/index.js';
import { MIGRATIONS } from '../../controlplane/store/sqlite/migrations.js';
import { rejectsWithCode, settings, uniqueName } from '../conformance/fixtures.js';

const sha256 = (text: string): string => createHash('sha256').update(text).digest('hex');
const dirs: string[] = [];
after(() => Promise.all(dirs.map((d) => rm(d, { recursive: true, force: true }))));

async function freshDir(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'fp-store-secrets-'));
  dirs.push(dir);
  return dir;
}

/** A platform.db as the platform before secrets at rest left it (schema 2), with one function and one admin token. */
function legacyDatabase(dir: string, fn: string, hookSecret: string, adminSecret: string): void {
  const db = new Database(join(dir, 'platform.db'));
  try {
    db.exec('CREATE TABLE schema_version (version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at INTEGER NOT NULL) STRICT');
    for (const m of MIGRATIONS.filter((m) => m.version <= 2)) {
      db.exec(m.sql);
      db.prepare('INSERT INTO schema_version VALUES (?, ?, 0)').run(m.version, m.name);
    }
    const legacySettings = { ...settings(), hookSecrets: { github: { current: hookSecret } } };
    db.prepare("INSERT INTO functions (name, settings, status, active_version, revision, created_at, updated_at) VALUES (?, ?, 'active', NULL, 1, 1, 1)").run(fn, JSON.stringify(legacySettings));
    db.prepare("INSERT INTO tokens (id, kind, scope, label, hash, created_at) VALUES ('tok_legacy', 'admin', NULL, 'admin', ?, 1)").run(sha256(adminSecret));
  } finally {
    db.close();
  }
}

describe('sqlite store: secrets at rest', () => {
  it('upgrades an existing platform.db once: sha256 token rows re-keyed, clear webhook secrets sealed', async () => {
    const dir = await freshDir();
    const fn = uniqueName();
    const hookSecret = `whsec_${randomBytes(12).toString('hex')}`;
    const adminSecret = `fpa_${randomBytes(32).toString('base64url')}`;
    legacyDatabase(dir, fn, hookSecret, adminSecret);
    const ring = new Keyring([generateKey()]);
    const store = await openSqliteStore({ stateDir: dir, keyring: ring });
    try {
      const token = await store.tokens.verify(adminSecret, 'admin');
      assert.deepEqual([token?.id, token?.keyId, token?.digest], ['tok_legacy', ring.currentId, ring.tokenDigest(adminSecret)]);
      assert.deepEqual((await store.functions.get(fn))?.hookSecrets, { github: { current: hookSecret } });
      assert.deepEqual((await store.keys.usage()).map((u) => [u.keyId, u.fields, u.tokens]), [[ring.currentId, 1, 1]]);
    } finally {
      await store.close();
    }
    const db = new Database(join(dir, 'platform.db'), { readonly: true });
    try {
      const row = db.prepare('SELECT settings FROM functions WHERE name = ?').get(fn) as { settings: string };
      assert.equal(row.settings.includes(hookSecret), false, 'the webhook secret is sealed in the row');
      assert.equal(db.prepare("SELECT count(*) FROM tokens WHERE digest = ?").pluck().get(sha256(adminSecret)), 0, 'no plain sha256 left');
    } finally {
      db.close();
    }
  });

  it('a token row planted without the key grants nothing, before or after a reload (and is never upgraded)', async () => {
    const dir = await freshDir();
    const ring = new Keyring([generateKey()]);
    const first = await openSqliteStore({ stateDir: dir, keyring: ring });
    const real = await first.tokens.issue({ kind: 'admin', label: 'admin' });
    await first.close();
    const planted = `fpa_${'B'.repeat(43)}`;
    const stranger = new Keyring([generateKey()]);
    const db = new Database(join(dir, 'platform.db'));
    try {
      const insert = db.prepare("INSERT INTO tokens (id, kind, scope, label, digest, key_id, created_at) VALUES (?, 'admin', NULL, 'admin', ?, ?, 1)");
      insert.run('tok_plain', sha256(planted), null); // the old scheme: a plain sha256, no key id
      insert.run('tok_current_id', sha256(`${planted}x`), ring.currentId); // claims the current key, digest made without it
      insert.run('tok_other_key', stranger.tokenDigest(`${planted}y`), ring.currentId); // made with another key
    } finally {
      db.close();
    }
    const second = await openSqliteStore({ stateDir: dir, keyring: ring });
    try {
      for (const secret of [planted, `${planted}x`, `${planted}y`]) assert.equal(await second.tokens.verify(secret, 'admin'), null);
      const logs: string[] = [];
      const index = await TokenIndex.load(second.tokens, ring, { log: (line) => logs.push(line) });
      for (const secret of [planted, `${planted}x`, `${planted}y`]) assert.equal(index.lookup(secret), undefined);
      assert.equal(index.lookup(real.secret)?.id, real.record.id);
      assert.ok(logs.some((l) => l.includes('no key id')), 'the unusable row is reported');
    } finally {
      await second.close();
    }
  });

  it('a sealed value copied into another function does not open there (SECRET_DECRYPT_FAILED)', async () => {
    const dir = await freshDir();
    const ring = new Keyring([generateKey()]);
    const store = await openSqliteStore({ stateDir: dir, keyring: ring });
    const [victim, thief] = [uniqueName('victim'), uniqueName('thief')];
    await store.functions.create(victim, settings({ secrets: { DB_PASSWORD: 'victim-pw' } }));
    await store.functions.create(thief, settings());
    await store.close();
    const db = new Database(join(dir, 'platform.db'));
    try {
      const read = (name: string): Record<string, unknown> => JSON.parse((db.prepare('SELECT settings FROM functions WHERE name = ?').get(name) as { settings: string }).settings) as Record<string, unknown>;
      db.prepare('UPDATE functions SET settings = ? WHERE name = ?').run(JSON.stringify({ ...read(thief), secrets: read(victim)['secrets'] }), thief);
    } finally {
      db.close();
    }
    const again = await openSqliteStore({ stateDir: dir, keyring: ring });
    try {
      await rejectsWithCode(again.functions.get(thief), 'SECRET_DECRYPT_FAILED');
      assert.deepEqual((await again.functions.get(victim))?.secrets, { DB_PASSWORD: 'victim-pw' });
    } finally {
      await again.close();
    }
    assert.equal((await readFile(join(dir, 'platform.db'))).includes('victim-pw'), false);
  });
});
