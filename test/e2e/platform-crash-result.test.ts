/**
 * Chaos round 7: a platform SIGKILLed right after it stored an async attempt's result, before the
 * run's final state and the job's ack (test/helpers/kill-points.ts, a kill point that exists only in
 * the test), on the embedded SQLite store and on production's Redis. After the restart the job's
 * lease expires, the attempt runs again (at least once: docs/dispatcher.md, "A final state before
 * the ack") and the run ends `succeeded` with its result: never `running` for ever.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { started, startMain } from './main-harness.js';
import { Api, deployed, fnName, py, sleep } from './platform-harness.js';
import { clusterOptions, mainEnv, productionSkip, useServers } from './production-harness.js';

const HOOK = fileURLToPath(new URL('../helpers/kill-points.js', import.meta.url));

/** Runs an async call killed after its result write, restarts, and returns the run once it settled. */
async function killedAfterResult(work: string, env: Record<string, string>): Promise<{ state: string; result: { status: number; body?: unknown } | null; transitions: { state: string; detail: string | null }[] }> {
  const marker = join(work, 'kill');
  const all = { ...env, FP_DISPATCH_LEASE_MS: '1000', KILL_POINT_MARKER: marker };
  const stateDir = join(work, 'state');
  const first = startMain(['--state-dir', stateDir, '--port', '0'], all, { preload: HOOK });
  const { url, token } = await started(first);
  const name = fnName('crashres');
  await deployed(new Api(url, token!), name, { 'main.py': py('def handler(event, context):', '    return {"attempt": context.attempt}') });
  writeFileSync(marker, 'result');
  const res = await fetch(`${url}/async/${name}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' });
  assert.equal(res.status, 202);
  const { runId } = (await res.json()) as { runId: string };
  assert.equal((await first.exited).code, null, 'killed after the result write');
  rmSync(marker);

  const second = startMain(['--state-dir', stateDir, '--port', '0'], all, { preload: HOOK });
  const again = await started(second);
  const api = new Api(again.url, token!);
  try {
    for (const deadline = Date.now() + 30_000; ; await sleep(100)) {
      const view = await api.call('GET', `/runs/${runId}`);
      assert.equal(view.status, 200, JSON.stringify(view.body));
      if (['succeeded', 'failed', 'cancelled'].includes(view.body.run.state)) return view.body.run;
      assert.ok(Date.now() < deadline, `run ${runId} still ${view.body.run.state} 30 s after the restart`);
    }
  } finally {
    second.child.kill('SIGTERM');
    await second.exited;
  }
}

describe('a platform killed -9 right after an async result write', { timeout: 120_000 }, () => {
  const work = mkdtempSync(join(tmpdir(), 'fp-crash-result-'));
  after(() => rmSync(work, { recursive: true, force: true }));

  it('embedded SQLite: the run ends succeeded with its result after the restart', async () => {
    const dir = join(work, 'embedded');
    const run = await killedAfterResult(mkdtempSync(`${dir}-`), {});
    assert.equal(run.state, 'succeeded', JSON.stringify(run));
    assert.equal(run.result?.status, 200, JSON.stringify(run));
    assert.ok(run.transitions.some((t) => t.detail === 'attempt 1 (delivery 2)'), 'the attempt ran again after the lease');
  });

  describe('production', { skip: productionSkip }, () => {
    const servers = useServers();
    it('Redis: the run ends succeeded with its result after the restart', async () => {
      const run = await killedAfterResult(mkdtempSync(join(work, 'prod-')), mainEnv(clusterOptions(servers)));
      assert.equal(run.state, 'succeeded', JSON.stringify(run));
      assert.equal(run.result?.status, 200, JSON.stringify(run));
      assert.ok(run.transitions.some((t) => t.detail === 'attempt 1 (delivery 2)'), 'the attempt ran again after the lease');
    });
  });
});
