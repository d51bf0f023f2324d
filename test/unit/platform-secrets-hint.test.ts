/** platform/secrets.ts explainUnknownKey: a start refused SECRETS_KEY_UNKNOWN names the key file on this machine that has the key (new-user round 5). */
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { loadKeyring } from '../../controlplane/index.js';
import { explainUnknownKey } from '../../platform/secrets.js';
import { PlatformError } from '../../protocol/index.js';

describe('a start refused for a secrets key it does not have', () => {
  const work = mkdtempSync(join(tmpdir(), 'fp-key-hint-'));
  after(() => rmSync(work, { recursive: true, force: true }));

  it('names the default key file without FP_CONFIG_DIR when it holds the key (where builds before 2026-12-04 kept it), and removes the key this start created', async () => {
    const home = join(work, 'home');
    const old = await loadKeyring({ kind: 'file', path: join(home, '.config', 'fastapi-platform', 'secrets.key') });
    const where = join(work, 'cfg', 'secrets.key');
    const fresh = await loadKeyring({ kind: 'file', path: where });
    const id = old.keyring.currentId;
    const refused = new PlatformError('SECRETS_KEY_UNKNOWN', `the store holds secrets sealed under ${id} (1 value), which ${where} does not have; restore that key (docs/secrets.md)`, { keyId: id, keyIds: [id] });
    const err = (await explainUnknownKey(refused, { keyring: fresh.keyring, where, created: true }, { HOME: home, FP_CONFIG_DIR: join(work, 'cfg') })) as PlatformError;
    assert.equal(err.code, 'SECRETS_KEY_UNKNOWN');
    const oldPath = join(home, '.config', 'fastapi-platform', 'secrets.key');
    assert.match(err.message, new RegExp(`${oldPath.replace(/[.]/g, '\\.')} has it .*start with FP_SECRETS_KEY_FILE=${oldPath.replace(/[.]/g, '\\.')}`));
    assert.match(err.message, /the new key file this start had created at .* was removed/);
    assert.equal(existsSync(where), false, 'the key file created for nothing is gone');
    assert.equal(existsSync(oldPath), true);
  });

  it('says nothing more when no other key file has the key, and keeps a key file it did not create', async () => {
    const where = join(work, 'cfg2', 'secrets.key');
    const mine = await loadKeyring({ kind: 'file', path: where });
    const refused = new PlatformError('SECRETS_KEY_UNKNOWN', 'the store holds secrets sealed under k_000000000000 (1 value)', { keyId: 'k_000000000000', keyIds: ['k_000000000000'] });
    const err = (await explainUnknownKey(refused, { keyring: mine.keyring, where, created: false }, { HOME: join(work, 'home') })) as PlatformError;
    assert.equal(err.message, 'the store holds secrets sealed under k_000000000000 (1 value)');
    assert.equal(existsSync(where), true);
  });
});
