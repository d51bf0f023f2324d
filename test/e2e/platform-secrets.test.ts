/**
 * Secrets at rest and in memory, end to end on the embedded platform (docs/secrets.md): secret
 * env values are write-only through the API and reach a real Python function's os.environ; no
 * clear secret is in the state directory or the log; a token row planted in platform.db grants
 * nothing after a restart; a key rotation re-encrypts and the platform keeps working; the
 * platform process reports the key file and refuses an insecure one.
 */
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { chmodSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import Database from 'better-sqlite3';
import { startPlatform, type StartedPlatform, type StartOptions } from '../../platform/start.js';
import { started, startMain } from './main-harness.js';
import { Api, deploy, deployed, errorOf, fnName, py, runsWritten, sleep, upload, usePlatform } from './platform-harness.js';

const ENV_READER = py('import os', 'def handler(event, context):', '    return {k: os.environ.get(k) for k in ["DB_PASSWORD", "API_KEY", "CLASH", "GREETING"]}');
const secretValue = (label: string): string => `${label}-${randomBytes(9).toString('hex')}`;

/** Every byte under `dir` (the database, its WAL, the queue files, blobs, code). */
function stateBytes(dir: string): Buffer {
  const parts: Buffer[] = [];
  for (const entry of readdirSync(dir, { withFileTypes: true, recursive: true })) {
    if (entry.isFile()) parts.push(readFileSync(join(entry.parentPath, entry.name)));
  }
  return Buffer.concat(parts);
}

async function envOf(url: string, name: string): Promise<{ cold: string | null; env: Record<string, string | null> }> {
  const res = await fetch(`${url}/fn/${name}/`);
  assert.equal(res.status, 200);
  return { cold: res.headers.get('x-cold-start'), env: (await res.json()) as Record<string, string | null> };
}

describe('secret env values (embedded platform)', { timeout: 90_000 }, () => {
  const h = usePlatform({ poolSize: 2 });
  const name = fnName('secrets');
  const password = secretValue('hunter2');
  const apiKey = secretValue('sk_live');

  it('takes secrets write-only: no answer of the API carries a value, only the sorted names', async () => {
    const created = await h.api.call('POST', '/functions', { name, env: { GREETING: 'hi', CLASH: 'plain' }, secrets: { DB_PASSWORD: password, CLASH: 'secret-wins' } });
    assert.equal(created.status, 201, JSON.stringify(created.body));
    assert.deepEqual(created.body.function.secrets, ['CLASH', 'DB_PASSWORD']);
    const patched = await h.api.call('PATCH', `/functions/${name}`, { secrets: { API_KEY: apiKey } });
    assert.deepEqual(patched.body.function.secrets, ['API_KEY', 'CLASH', 'DB_PASSWORD']);
    const answers = [created, patched, await h.api.call('GET', `/functions/${name}`), await h.api.call('GET', '/functions')];
    for (const answer of answers) {
      const text = JSON.stringify(answer.body);
      for (const value of [password, apiKey, 'secret-wins']) assert.equal(text.includes(value), false, `${value} in an API answer`);
    }
    assert.deepEqual(answers[2]!.body.function.env, { GREETING: 'hi', CLASH: 'plain' });
    // Refusals never echo a value: a bad secret, a body that is not JSON.
    const bad = await h.api.call('PATCH', `/functions/${name}`, { secrets: { 'BAD-NAME': password, OK: 42 } });
    assert.equal(bad.status, 400);
    assert.equal(errorOf(bad).code, 'INVALID_FIELD');
    assert.equal(JSON.stringify(bad.body).includes(password), false);
    const broken = await h.api.call('PATCH', `/functions/${name}`, `{"secrets": {"DB_PASSWORD": ${password}}}`);
    assert.equal(errorOf(broken).code, 'INVALID_JSON');
    assert.equal(JSON.stringify(broken.body).includes(password), false, 'the JSON error quotes the body');
  });

  it('a deployed Python function sees its secrets in os.environ (a secret wins over env); a change applies at the next cold start, no redeploy', async () => {
    await upload(h.api, name, { 'main.py': ENV_READER });
    await deploy(h.api, name);
    const first = await envOf(h.url, name);
    assert.deepEqual(first.env, { DB_PASSWORD: password, API_KEY: apiKey, CLASH: 'secret-wins', GREETING: 'hi' });
    const rotated = secretValue('hunter3');
    const patched = await h.api.call('PATCH', `/functions/${name}`, { secrets: { DB_PASSWORD: rotated, CLASH: null } });
    assert.deepEqual(patched.body.function.secrets, ['API_KEY', 'DB_PASSWORD']);
    const next = await envOf(h.url, name);
    assert.deepEqual([next.cold, next.env], ['1', { DB_PASSWORD: rotated, API_KEY: apiKey, CLASH: 'plain', GREETING: 'hi' }]);
    assert.equal((await h.api.call('GET', `/functions/${name}/versions`)).body.items.length, 1, 'no new version');
  });

  it('keeps no clear secret value in the state directory or the platform log', async () => {
    await runsWritten(h.url); // run records are written in batches
    const bytes = stateBytes(h.stateDir);
    for (const value of [password, apiKey, 'secret-wins']) assert.equal(bytes.includes(value), false, `${value} found in the state directory`);
    assert.equal(bytes.includes('fpenc:v1:'), true);
    assert.equal(h.logs.some((line) => line.includes(password) || line.includes(apiKey)), false);
  });
});

describe('keys and tokens across restarts (embedded platform)', { timeout: 120_000 }, () => {
  const work = mkdtempSync(join(tmpdir(), 'fp-secrets-e2e-'));
  const stateDir = join(work, 'state');
  const keyFile = join(work, 'config', 'secrets.key');
  after(() => rmSync(work, { recursive: true, force: true }));
  const options: StartOptions = { stateDir, port: 0, poolSize: 1, shutdownGraceMs: 2000, secretsKeyFile: keyFile, log: () => {} };
  const name = fnName('rotating');
  const password = secretValue('pw');
  let adminToken = '';

  async function withPlatform<T>(extra: StartOptions, fn: (p: StartedPlatform, api: Api) => Promise<T>): Promise<T> {
    const platform = await startPlatform({ ...options, ...extra });
    try {
      adminToken = platform.takeAdminToken() ?? adminToken;
      assert.equal(platform.takeAdminToken(), undefined, 'handed over once');
      return await fn(platform, new Api(platform.url, adminToken));
    } finally {
      await platform.close();
    }
  }

  it('a first start creates the key file (0600) outside the state directory', async () => {
    await withPlatform({}, async (platform, api) => {
      assert.deepEqual([platform.secrets.created, platform.secrets.where], [true, keyFile]);
      assert.equal(statSync(keyFile).mode & 0o777, 0o600);
      await deployed(api, name, { 'main.py': ENV_READER }, { secrets: { DB_PASSWORD: password } });
      assert.equal((await envOf(platform.url, name)).env['DB_PASSWORD'], password);
    });
    await assert.rejects(startPlatform({ ...options, secretsKeyFile: join(stateDir, 'secrets.key') }), (err: unknown) => (err as { code?: string }).code === 'SECRETS_KEY_INVALID');
  });

  it('a token row planted in platform.db grants nothing after a restart (401)', async () => {
    const planted = `fpa_${randomBytes(32).toString('base64url')}`;
    const keyId = (JSON.parse(readFileSync(keyFile, 'utf8')) as { current: string }).current;
    const db = new Database(join(stateDir, 'platform.db'));
    try {
      const insert = db.prepare("INSERT INTO tokens (id, kind, scope, label, digest, key_id, created_at) VALUES (?, 'admin', NULL, 'admin', ?, ?, 1)");
      const sha = createHash('sha256').update(planted).digest('hex');
      insert.run('tok_planted_legacy', sha, null);
      insert.run('tok_planted_current', createHash('sha256').update(sha).digest('hex'), keyId);
    } finally {
      db.close();
    }
    await withPlatform({}, async (_platform, api) => {
      const refused = await new Api(api.url, planted).call('GET', '/functions');
      assert.deepEqual([refused.status, errorOf(refused).code], [401, 'ADMIN_TOKEN_INVALID']);
      assert.equal((await api.call('GET', '/functions')).status, 200);
    });
    // Cleaned up as an operator would, so the rotation below counts only real tokens.
    const cleanup = new Database(join(stateDir, 'platform.db'));
    cleanup.prepare("DELETE FROM tokens WHERE id LIKE 'tok_planted_%'").run();
    cleanup.close();
  });

  it('rotating the key re-encrypts every secret; the platform keeps working; the old key is needed until the admin token is re-keyed', async () => {
    const oldKey = (JSON.parse(readFileSync(keyFile, 'utf8')) as { current: string }).current;
    const newKey = await withPlatform({ rotateSecretsKey: true }, async (platform, api) => {
      const { keys, rotated } = platform.secrets;
      assert.equal(rotated, true);
      assert.notEqual(keys.currentKeyId, oldKey);
      assert.equal(keys.reencrypted, 1);
      assert.deepEqual(keys.stillNeeded, [oldKey], 'the admin token is still under the old key');
      assert.equal((await envOf(platform.url, name)).env['DB_PASSWORD'], password);
      assert.equal((await api.call('GET', '/functions')).status, 200, 'an old-key token works (and is re-keyed on this use)');
      await sleep(200);
      return keys.currentKeyId;
    });
    await withPlatform({}, async (platform) => {
      assert.deepEqual([platform.secrets.keys.stillNeeded, platform.secrets.keys.notNeeded], [[], [oldKey]]);
    });
    // Retire the old key: the platform works with the new one alone.
    const file = JSON.parse(readFileSync(keyFile, 'utf8')) as { keys: { id: string }[] };
    writeFileSync(keyFile, JSON.stringify({ ...file, keys: file.keys.filter((k) => k.id !== oldKey) }), { mode: 0o600 });
    await withPlatform({}, async (platform, api) => {
      assert.deepEqual(platform.secrets.keys.usage.map((u) => u.keyId), [newKey]);
      assert.equal((await api.call('GET', '/functions')).status, 200);
      assert.equal((await envOf(platform.url, name)).env['DB_PASSWORD'], password);
    });
    // Without the key, it refuses to start (never runs without the secrets it holds).
    await assert.rejects(startPlatform({ ...options, secretsKeyFile: join(work, 'other', 'secrets.key') }), (err: unknown) => {
      assert.equal((err as { code?: string }).code, 'SECRETS_KEY_UNKNOWN');
      assert.equal((err as { details?: { keyId?: string } }).details?.keyId, newKey);
      return true;
    });
  });
});

describe('the platform process and its key file', { timeout: 60_000 }, () => {
  const work = mkdtempSync(join(tmpdir(), 'fp-secrets-main-'));
  after(() => rmSync(work, { recursive: true, force: true }));
  const env = { FP_SECRETS_KEY_FILE: join(work, 'keys', 'secrets.key') };
  const args = ['--state-dir', join(work, 'state'), '--port', '0'];

  it('says it created the key file; --rotate-secrets-key reports the new key and what still needs the old one', async () => {
    const first = startMain(args, env);
    await started(first);
    first.child.kill('SIGTERM');
    const exit = await first.exited;
    assert.equal(exit.code, 0, exit.stderr);
    assert.match(exit.stdout, /secrets key: created .*secrets\.key/);
    assert.match(exit.stdout, /admin token: fpa_/);
    const second = startMain([...args, '--rotate-secrets-key'], env);
    await started(second);
    second.child.kill('SIGTERM');
    const out = (await second.exited).stdout;
    assert.match(out, /secrets key rotated: current key k_[0-9a-f]{12}/);
    assert.match(out, /still needed: k_[0-9a-f]{12}: 1 token not re-keyed yet/);
    assert.equal(out.includes('admin token:'), false);
  });

  it('refuses a key file that group or others may read', async () => {
    chmodSync(env.FP_SECRETS_KEY_FILE, 0o644);
    const proc = startMain(args, env);
    const exit = await proc.exited;
    assert.equal(exit.code, 1);
    assert.match(exit.stderr, /\[SECRETS_KEY_FILE_INSECURE\].*chmod 600/);
  });
});
