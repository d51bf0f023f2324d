/**
 * The embedded default keeps its live usage in memory: before this, a restart zeroed `usage`'s
 * 15m/1h/24h windows and "all time" while the runs were still listed. Now the hour buckets and
 * totals come back from the durable hourly rollups and the minute buckets and last success from
 * what the graceful stop saved (controlplane/store/sqlite/live-usage.ts).
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { startPlatform, type StartedPlatform } from '../../platform/start.js';
import { Api, deployed, fnName, py, sleep, TEST_SECRETS_KEY } from './platform-harness.js';

interface Usage { invocations: number; errors: number; p50Ms: number | null; totals: { invocations: number; errors: number }; lastSuccess: { runId: string } | null }

describe('usage across a restart of the embedded platform', () => {
  const stateDir = mkdtempSync(join(tmpdir(), 'fp-usage-'));
  const api = new Api('', null);
  let platform: StartedPlatform | undefined;
  const start = async (): Promise<void> => {
    platform = await startPlatform({ port: 0, poolSize: 1, stateDir, secretsKey: TEST_SECRETS_KEY, log: () => {} });
    api.token ??= platform.takeAdminToken() ?? null;
    (api as { url: string }).url = platform.url;
  };
  after(async () => {
    await platform?.close();
    rmSync(stateDir, { recursive: true, force: true });
  });
  const usage = async (name: string, window: string): Promise<Usage> => (await api.call('GET', `/functions/${name}/usage?window=${window}`)).body as Usage;

  it('15m, 24h, all time and the last success are what they were before the stop', async () => {
    await start();
    const name = fnName('counted');
    await deployed(api, name, { 'main.py': py('def handler(event, context):', '    if event["query"].get("fail"):', '        raise RuntimeError("no")', '    return {"ok": True}') });
    for (let i = 0; i < 5; i++) assert.equal((await fetch(`${platform!.url}/fn/${name}/`)).status, 200);
    assert.equal((await fetch(`${platform!.url}/fn/${name}/?fail=1`)).status, 500);
    // The numbers reach the live view and the hourly rollups a moment after the calls.
    const deadline = Date.now() + 15_000;
    let before = await usage(name, '15m');
    while (before.invocations < 6 || (await usage(name, '7d')).invocations < 6) {
      assert.ok(Date.now() < deadline, `usage did not count the 6 calls: ${JSON.stringify(before)}`);
      await sleep(200);
      before = await usage(name, '15m');
    }
    await platform!.close();
    platform = undefined;

    await start();
    for (const window of ['15m', '1h', '24h']) {
      const after = await usage(name, window);
      assert.equal(after.invocations, 6, `${window}: ${JSON.stringify(after)}`);
      assert.equal(after.errors, 1, window);
      assert.ok(after.p50Ms !== null, window);
    }
    const now = await usage(name, '15m');
    assert.equal(now.totals.invocations, 6);
    assert.equal(now.totals.errors, 1);
    assert.equal(now.lastSuccess?.runId, before.lastSuccess?.runId);
    // And it goes on counting from there.
    assert.equal((await fetch(`${platform!.url}/fn/${name}/`)).status, 200);
    const deadline2 = Date.now() + 15_000;
    while ((await usage(name, '15m')).invocations < 7) {
      assert.ok(Date.now() < deadline2, 'the call after the restart was not counted');
      await sleep(200);
    }
    assert.equal((await usage(name, '15m')).totals.invocations, 7);
  });
});
