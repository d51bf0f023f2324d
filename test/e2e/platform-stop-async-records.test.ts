/**
 * A graceful stop (SIGTERM: `close()`) lets the dispatcher's attempts in flight finish, and their
 * run records must be written before the store goes. The record of the attempt that finished last
 * was lost: its batch reached the control plane's recorder in a `setImmediate` after the recorder
 * had closed, so `runs` and its logs never had it while the async run said succeeded (upgrade
 * round 1: 1 of 4 in-flight runs at every SIGTERM, today's build and the older ones).
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { startPlatform, type StartedPlatform } from '../../platform/start.js';
import { Api, deployed, fnName, py, sleep, TEST_SECRETS_KEY } from './platform-harness.js';

describe('async runs in flight at a graceful stop', () => {
  const stateDir = mkdtempSync(join(tmpdir(), 'fp-stop-records-'));
  const api = new Api('', null);
  let platform: StartedPlatform | undefined;
  const start = async (): Promise<void> => {
    platform = await startPlatform({ port: 0, poolSize: 2, stateDir, secretsKey: TEST_SECRETS_KEY, log: () => {} });
    api.token ??= platform.takeAdminToken() ?? null;
    (api as { url: string }).url = platform.url;
  };
  after(async () => {
    await platform?.close();
    rmSync(stateDir, { recursive: true, force: true });
  });

  it('keep their run records and log lines after the restart', async () => {
    await start();
    const name = fnName('stopping');
    await deployed(api, name, { 'main.py': py('import time', 'def handler(event, context):', '    time.sleep(1.5)', '    context.logger.info("finished %s", context.run_id)', '    return {"ok": True}') });
    const ids: string[] = [];
    for (let i = 0; i < 2; i++) {
      const res = await fetch(`${platform!.url}/async/${name}/`, { method: 'POST' });
      assert.equal(res.status, 202);
      ids.push(((await res.json()) as { runId: string }).runId);
    }
    // Both attempts running, then the stop (their 1.5 s sleep is longer than what is left of it).
    const deadline = Date.now() + 30_000;
    for (;;) {
      const states = await Promise.all(ids.map(async (id) => ((await api.call('GET', `/runs/${id}`)).body as { run: { state: string } }).run.state));
      if (states.every((s) => s === 'running')) break;
      assert.ok(Date.now() < deadline, `not both running: ${states.join(', ')}`);
      await sleep(50);
    }
    await platform!.close();
    platform = undefined;

    await start();
    for (const id of ids) {
      const run = ((await api.call('GET', `/runs/${id}`)).body as { run: { state: string; attempts: { logs: { msg: string }[] }[] } }).run;
      assert.equal(run.state, 'succeeded', id);
      assert.ok(run.attempts[0]!.logs.some((l) => l.msg.includes(`finished ${id}`)), `${id}: ${JSON.stringify(run.attempts)}`);
    }
    const listed = (await api.call('GET', `/runs?function=${name}`)).body as { items: { runId: string }[] };
    assert.deepEqual(listed.items.map((r) => r.runId).sort(), [...ids].sort());
  });
});
