/**
 * A platform process killed in the middle of an async run (issue 5, "no accepted run is lost"):
 * `node dist/platform/main.js` is SIGKILLed while an attempt runs (its runtimes die with it:
 * PR_SET_PDEATHSIG); started again on the same state directory, the run's lease expires, the
 * attempt is redelivered and the run ends `succeeded`.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { ferretdbPid, isAlive } from '../helpers/processes.js';
import { started, startMain } from './main-harness.js';
import { Api, deployed, fnName, py, sleep } from './platform-harness.js';

/** The FerretDB a platform started for `stateDir`, if it has one (none when FerretDB is not installed). */
function ferretdbPids(stateDir: string): number[] {
  try {
    return [ferretdbPid(stateDir)];
  } catch {
    return [];
  }
}

/** A short lease, so the killed process's claim expires quickly. */
const ENV = { FP_DISPATCH_LEASE_MS: '1000' };

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- run views are read as JSON
async function runState(api: Api, runId: string, until: (state: string) => boolean, timeoutMs: number): Promise<any> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const res = await api.call('GET', `/runs/${runId}`);
    assert.equal(res.status, 200, JSON.stringify(res.body));
    if (until(res.body.run.state)) return res.body.run;
    if (Date.now() > deadline) throw new Error(`run ${runId} still ${res.body.run.state}`);
    await sleep(50);
  }
}

describe('platform crash during an async run', { timeout: 60_000 }, () => {
  const stateDir = mkdtempSync(join(tmpdir(), 'fp-crash-'));
  after(() => rmSync(stateDir, { recursive: true, force: true }));

  it('SIGKILL while the run is running: after a restart the run succeeds (redelivered)', async () => {
    const first = startMain(['--state-dir', stateDir, '--port', '0'], ENV);
    const { url, token } = await started(first);
    assert.ok(token, 'the first start prints the admin token');
    const name = fnName('sleepy');
    await deployed(new Api(url, token), name, { 'main.py': py('import time', 'def handler(event, context):', '    time.sleep(1.5)', '    return {"attempt": context.attempt}') });
    const res = await fetch(`${url}/async/${name}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' });
    assert.equal(res.status, 202);
    const { runId } = (await res.json()) as { runId: string };
    await runState(new Api(url, token), runId, (s) => s === 'running', 15_000);

    const ferret = ferretdbPids(stateDir);
    first.child.kill('SIGKILL');
    await first.exited;
    // Its embedded FerretDB (data bindings) dies with it: nothing is left on the state directory's files.
    for (let i = 0; ferret.some(isAlive); i++) {
      assert.ok(i < 100, `FerretDB ${ferret.filter(isAlive).join(', ')} outlived its platform`);
      await sleep(50);
    }

    const second = startMain(['--state-dir', stateDir, '--port', '0'], ENV);
    const again = await started(second);
    const run = await runState(new Api(again.url, token), runId, (s) => s === 'succeeded' || s === 'failed' || s === 'cancelled', 30_000);
    assert.equal(run.state, 'succeeded', JSON.stringify(run));
    assert.ok(run.transitions.filter((t: { state: string }) => t.state === 'running').length >= 2, 'a second delivery ran it');
    assert.equal(run.result.status, 200);
    second.child.kill('SIGTERM');
    const exit = await second.exited;
    assert.equal(exit.code, 0, exit.stderr);
  });
});
