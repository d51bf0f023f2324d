/**
 * Chaos round 7: a platform SIGKILLed in the middle of a version's activation, after the store
 * took the deploy and before the process told anyone (test/helpers/kill-points.ts, a kill point
 * that exists only in the test). Embedded: the restart serves what the store says, the new version.
 * Production: the other process of the cluster, which the bus never told, serves the new version
 * too within its config sweep (ADR 0273); before, it served the old one until the function changed
 * again or it restarted, while the API said the new one was active.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { started, startMain } from './main-harness.js';
import { Api, deployed, fnName, py, until, upload } from './platform-harness.js';
import { clusterOptions, mainEnv, productionSkip, startNode, useServers } from './production-harness.js';

const HOOK = fileURLToPath(new URL('../helpers/kill-points.js', import.meta.url));
const HANDLER = { 'main.py': py('def handler(event, context):', '    return {"version": context.function_version}') };

async function servedVersion(url: string, name: string): Promise<string | null> {
  const res = await fetch(`${url}/fn/${name}/`);
  return res.status === 200 ? ((await res.json()) as { version: string }).version : null;
}

/** What an unsigned call of the webhook trigger `gh` is answered: TRIGGER_NOT_FOUND while version 1 (no triggers) serves. */
async function hookCode(url: string, name: string): Promise<string> {
  const res = await fetch(`${url}/hooks/${name}/gh`, { method: 'POST', body: '{}' });
  return ((await res.json()) as { error: { code: string } }).error.code;
}

/** Version 2: the same handler and a webhook trigger (routing and triggers both switch with the version). */
async function uploadV2(api: Api, name: string): Promise<number> {
  return upload(api, name, { ...HANDLER, 'extra.py': 'X = 2\n' }, { manifest: { kind: 'function', name, triggers: [{ type: 'webhook', id: 'gh' }] } });
}

/** Deploys `version` through `api` with the kill point armed: the platform dies before it publishes. */
async function deployKilled(api: Api, name: string, version: number, marker: string, proc: ReturnType<typeof startMain>): Promise<void> {
  writeFileSync(marker, 'function');
  const answer = await api.call('POST', `/functions/${name}/deploy`, { version }).catch((err: unknown) => err);
  assert.ok(answer instanceof Error, `the deploy was answered: ${JSON.stringify(answer)}`);
  const exit = await proc.exited;
  assert.equal(exit.code, null, 'killed, not exited');
  rmSync(marker);
}

describe('a platform killed -9 between a deploy\'s store write and its publish', { timeout: 120_000 }, () => {
  const work = mkdtempSync(join(tmpdir(), 'fp-crash-deploy-'));
  after(() => rmSync(work, { recursive: true, force: true }));
  const marker = join(work, 'kill');

  it('embedded: the restart serves the version the store made active, and its deploy log says so', async () => {
    const stateDir = join(work, 'embedded');
    const env = { KILL_POINT_MARKER: marker };
    const first = startMain(['--state-dir', stateDir, '--port', '0'], env, { preload: HOOK });
    const { url, token } = await started(first);
    const api = new Api(url, token!);
    const name = fnName('crashdep');
    await deployed(api, name, HANDLER);
    const v2 = await uploadV2(api, name);
    await deployKilled(api, name, v2, marker, first);

    const second = startMain(['--state-dir', stateDir, '--port', '0'], env, { preload: HOOK });
    const again = await started(second);
    const api2 = new Api(again.url, token!);
    const fn = await api2.call('GET', `/functions/${name}`);
    assert.equal(fn.body.function.activeVersion, v2, JSON.stringify(fn.body));
    assert.equal(await servedVersion(again.url, name), String(v2));
    assert.equal(await hookCode(again.url, name), 'WEBHOOK_SIGNATURE_MISSING', 'version 2\'s webhook trigger is routed');
    const log = await api2.call('GET', `/functions/${name}/deploys`);
    assert.equal(log.body.items[0]?.toVersion, v2, JSON.stringify(log.body));
    second.child.kill('SIGTERM');
    await second.exited;
  });

  describe('production, two processes', { skip: productionSkip }, () => {
    const servers = useServers();

    it('the process that was not told serves the new version within its sweep, no restart', async () => {
      const o = clusterOptions(servers);
      const env = { ...mainEnv(o), KILL_POINT_MARKER: marker };
      const a = startMain(['--state-dir', join(work, 'a'), '--port', '0'], env, { preload: HOOK });
      const { url, token } = await started(a);
      const api = new Api(url, token!);
      const b = await startNode({ ...o, configSweepMs: 1000 }, token!);
      const name = fnName('crashdepp');
      await deployed(api, name, HANDLER);
      await until('the other process serves version 1', async () => (await servedVersion(b.url, name)) === '1');
      assert.equal(await hookCode(b.url, name), 'TRIGGER_NOT_FOUND');
      const v2 = await uploadV2(api, name);
      await deployKilled(api, name, v2, marker, a);

      const fn = await b.api.call('GET', `/functions/${name}`);
      assert.equal(fn.body.function.activeVersion, v2, 'the store took the deploy');
      await until('the other process serves the version the store says is active', async () => (await servedVersion(b.url, name)) === String(v2), 10_000);
      assert.equal(await hookCode(b.url, name), 'WEBHOOK_SIGNATURE_MISSING', 'and routes its webhook trigger');
    });
  });
});
