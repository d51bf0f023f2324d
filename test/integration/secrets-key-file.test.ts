/** The secrets key file (controlplane/secrets/key-file.ts) on a real filesystem: creation, modes, rotation, refusals. */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { chmod, mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { addKeyToFile, generateKey, keyIdOf, loadKeyring } from '../../controlplane/secrets/index.js';

const dirs: string[] = [];
after(() => Promise.all(dirs.map((d) => rm(d, { recursive: true, force: true }))));

async function freshPath(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'fp-keyfile-'));
  dirs.push(dir);
  return join(dir, 'config', 'fastapi-platform', 'secrets.key');
}

async function rejectsCode(promise: Promise<unknown>, code: string, check?: (message: string) => void): Promise<void> {
  await assert.rejects(promise, (err: unknown) => {
    assert.equal((err as { code?: string }).code, code);
    check?.((err as Error).message);
    return true;
  });
}

describe('secrets key file', () => {
  it('is created on first load: mode 0600 in a 0700 folder; later loads find the same key', async () => {
    const path = await freshPath();
    const first = await loadKeyring({ kind: 'file', path });
    assert.equal(first.created, true);
    assert.equal((await stat(path)).mode & 0o777, 0o600);
    assert.equal((await stat(join(path, '..'))).mode & 0o777, 0o700);
    const again = await loadKeyring({ kind: 'file', path });
    assert.deepEqual([again.created, again.keyring.currentId, again.where], [false, first.keyring.currentId, path]);
    const file = JSON.parse(await readFile(path, 'utf8')) as { format: string; current: string; keys: { id: string }[] };
    assert.deepEqual([file.format, file.current, file.keys.map((k) => k.id)], ['fastapi-platform-keyring/1', first.keyring.currentId, [first.keyring.currentId]]);
  });

  it('two processes starting at once on a fresh machine end up with one key', async () => {
    const path = await freshPath();
    const [x, y] = await Promise.all([loadKeyring({ kind: 'file', path }), loadKeyring({ kind: 'file', path })]);
    assert.equal(x.keyring.currentId, y.keyring.currentId);
  });

  it('refuses a key file that group or others may read (SECRETS_KEY_FILE_INSECURE, saying chmod 600)', async () => {
    const path = await freshPath();
    await loadKeyring({ kind: 'file', path });
    for (const mode of [0o644, 0o640, 0o604, 0o620]) {
      await chmod(path, mode);
      await rejectsCode(loadKeyring({ kind: 'file', path }), 'SECRETS_KEY_FILE_INSECURE', (m) => assert.match(m, /chmod 600/));
    }
    await chmod(path, 0o400);
    assert.equal((await loadKeyring({ kind: 'file', path })).created, false);
  });

  it('refuses a damaged key file (SECRETS_KEY_INVALID), never replacing it', async () => {
    const path = await freshPath();
    const { keyring } = await loadKeyring({ kind: 'file', path });
    const good = await readFile(path, 'utf8');
    const cases = [
      'not json',
      JSON.stringify({ format: 'other', current: keyring.currentId, keys: [] }),
      good.replace(keyring.currentId, 'k_000000000000').replace(keyring.currentId, 'k_000000000000'),
      JSON.stringify({ format: 'fastapi-platform-keyring/1', current: keyIdOf(Buffer.alloc(32, 1)), keys: [{ id: keyIdOf(Buffer.alloc(32, 1)), key: 'c2hvcnQ=', createdAt: 1 }] }),
    ];
    for (const text of cases) {
      await writeFile(path, text, { mode: 0o600 });
      await rejectsCode(loadKeyring({ kind: 'file', path }), 'SECRETS_KEY_INVALID');
      assert.equal(await readFile(path, 'utf8'), text, 'the file is left as it was');
    }
  });

  it('adds a new current key on rotation, keeping the older ones to read what they sealed', async () => {
    const path = await freshPath();
    const { keyring: before } = await loadKeyring({ kind: 'file', path });
    const sealed = before.seal('db-password', 'fn/a/secret/P');
    const { keyring, added } = await addKeyToFile(path);
    assert.equal(keyring.currentId, added);
    assert.notEqual(added, before.currentId);
    assert.deepEqual(keyring.ids, [added, before.currentId]);
    assert.equal(keyring.open(sealed, 'fn/a/secret/P'), 'db-password');
    assert.equal((await stat(path)).mode & 0o777, 0o600);
    assert.equal((await loadKeyring({ kind: 'file', path })).keyring.currentId, added);
    await rejectsCode(addKeyToFile(`${path}.missing`), 'SECRETS_KEY_INVALID');
  });

  it('a config folder it may not write: SECRETS_KEY_INVALID saying what to do, not a bare EPERM from mkdir (reliability round 9)', { skip: process.getuid?.() !== 0 && 'chattr needs root' }, async () => {
    const path = await freshPath();
    const home = join(path, '..', '..', '..');
    execFileSync('chattr', ['+i', home]); // the home folder: ~/.config cannot be made
    try {
      await rejectsCode(loadKeyring({ kind: 'file', path }), 'SECRETS_KEY_INVALID', (message) => {
        assert.match(message, /EPERM/);
        assert.match(message, /FP_CONFIG_DIR/);
      });
    } finally {
      execFileSync('chattr', ['-i', home]);
    }
  });

  it('takes inline keys (FP_SECRETS_KEY) without touching any file', async () => {
    const key = generateKey();
    const loaded = await loadKeyring({ kind: 'inline', keys: key.toString('base64') });
    assert.deepEqual([loaded.keyring.currentId, loaded.created, loaded.where], [keyIdOf(key), false, 'FP_SECRETS_KEY']);
  });
});
