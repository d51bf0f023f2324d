/**
 * The first start of a state directory issues the admin token, shown once. A first start that
 * failed after issuing it (the port taken: LISTEN_FAILED) kept the token, shown to nobody, and
 * every later start said "no admin token saved for this state directory": the CLI and the console
 * were locked out for good (new-user round, 2026-12-04). The token is issued last now, and one
 * never handed over is revoked when the start unwinds.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { startPlatform } from '../../platform/start.js';
import { TEST_SECRETS_KEY } from './platform-harness.js';

describe('the first start of a state directory', () => {
  it('that fails to listen leaves no token behind: the next start issues one, and it works', async (t) => {
    const stateDir = mkdtempSync(join(tmpdir(), 'fp-first-start-'));
    t.after(() => rmSync(stateDir, { recursive: true, force: true }));
    const holder = createServer();
    await new Promise<void>((done) => holder.listen(0, '127.0.0.1', done));
    t.after(() => holder.close());
    const taken = (holder.address() as { port: number }).port;
    const options = { stateDir, poolSize: 1, secretsKey: TEST_SECRETS_KEY, log: () => {} };
    await assert.rejects(startPlatform({ ...options, port: taken }), (err: { code?: string }) => err.code === 'LISTEN_FAILED');
    const platform = await startPlatform({ ...options, port: 0 });
    t.after(() => platform.close());
    const token = platform.takeAdminToken();
    assert.ok(token !== undefined, 'the second start issued no token: the first one\'s, never shown, was kept');
    const res = await fetch(`${platform.url}/api/v1/whoami`, { headers: { authorization: `Bearer ${token}` } });
    assert.equal(res.status, 200, await res.clone().text());
    assert.equal(((await res.json()) as { kind: string }).kind, 'admin');
    assert.equal(platform.takeAdminToken(), undefined, 'handed over once');
  });

  it('a token handed over is kept across a restart (none issued again)', async (t) => {
    const stateDir = mkdtempSync(join(tmpdir(), 'fp-first-start-'));
    t.after(() => rmSync(stateDir, { recursive: true, force: true }));
    const options = { stateDir, poolSize: 1, secretsKey: TEST_SECRETS_KEY, log: () => {}, port: 0 };
    const first = await startPlatform(options);
    const token = first.takeAdminToken();
    assert.ok(token !== undefined);
    await first.close();
    const second = await startPlatform(options);
    t.after(() => second.close());
    assert.equal(second.takeAdminToken(), undefined);
    assert.equal((await fetch(`${second.url}/api/v1/whoami`, { headers: { authorization: `Bearer ${token}` } })).status, 200);
  });
});
