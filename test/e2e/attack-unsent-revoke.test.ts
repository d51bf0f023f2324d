/**
 * Chaos round 7 (ADR 0273): a token revoked on one process of a cluster that is SIGKILLed after the
 * store took the revoke and before it told the others (test/helpers/kill-points.ts). Before, the
 * other processes kept accepting the revoked token until their bus reconnected or they restarted:
 * a leaked token its owner had revoked went on deploying. Now each process compares its token index
 * with the store every sweep and refuses it.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { started, startMain } from './main-harness.js';
import { Api, errorOf, until } from './platform-harness.js';
import { clusterOptions, mainEnv, productionSkip, startNode, useServers } from './production-harness.js';

const HOOK = fileURLToPath(new URL('../helpers/kill-points.js', import.meta.url));

describe('a revoke whose process was killed before it told the others', { timeout: 90_000, skip: productionSkip }, () => {
  const servers = useServers();
  const work = mkdtempSync(join(tmpdir(), 'fp-unsent-revoke-'));
  after(() => rmSync(work, { recursive: true, force: true }));

  it('the token is refused by the other process within its sweep', async () => {
    const o = clusterOptions(servers);
    const marker = join(work, 'kill');
    const a = startMain(['--state-dir', join(work, 'a'), '--port', '0'], { ...mainEnv(o), KILL_POINT_MARKER: marker }, { preload: HOOK });
    const { url, token } = await started(a);
    const admin = new Api(url, token!);
    const b = await startNode({ ...o, configSweepMs: 1000 }, token!);
    const issued = await admin.call('POST', '/tokens', { role: 'deployer', label: 'leaked' });
    assert.equal(issued.status, 201, JSON.stringify(issued.body));
    const leaked = new Api(b.url, issued.body.secret as string);
    await until('the other process accepts the new token', async () => (await leaked.call('GET', '/functions')).status === 200);

    writeFileSync(marker, 'tokens');
    const revoke = await admin.call('DELETE', `/tokens/${issued.body.token.id as string}`).catch((err: unknown) => err);
    assert.ok(revoke instanceof Error, `the revoke was answered: ${JSON.stringify(revoke)}`);
    assert.equal((await a.exited).code, null, 'killed, not exited');

    await until('the other process refuses the revoked token', async () => (await leaked.call('GET', '/functions')).status === 401, 10_000);
    const refused = await leaked.call('GET', '/functions');
    assert.match(errorOf(refused).code, /TOKEN/);
  });
});
