/**
 * Chaos round 9: the platform restarted (SIGTERM, then started again on its port: an upgrade,
 * `systemctl restart`) while `fastapi-platform deploy` waits for a version's requirements.txt to
 * build and an async run waits for its retry (its first attempt failed, backoff 8 s). Before, the
 * deploy's wait ended at its first refused poll, exit 5 UNREACHABLE, and the version was never
 * deployed though its build started again at the start (ADR 0239). Now the wait rides out the
 * restart (up to 2 minutes, said once) and the deploy completes; the run's retry runs after the
 * restart and the run ends succeeded with both attempts recorded (that held already).
 */
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { spawnCli } from '../helpers/cli-harness.js';
import { freePort } from '../helpers/servers.js';
import { writeHeavyWheel } from '../helpers/wheels.js';
import { started, startMain } from './main-harness.js';
import { Api, deployed, fnName, py, sleep, until } from './platform-harness.js';

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- run views are read as JSON
async function runView(api: Api, runId: string): Promise<any> {
  const res = await api.call('GET', `/runs/${runId}`);
  assert.equal(res.status, 200, JSON.stringify(res.body));
  return res.body.run;
}

describe('a platform restarted while a deploy waits for its dependency build and an async run for its retry', { timeout: 180_000 }, () => {
  const work = mkdtempSync(join(tmpdir(), 'fp-restart-deploy-'));
  after(() => rmSync(work, { recursive: true, force: true }));
  const wheels = join(work, 'wheels');
  writeHeavyWheel(wheels); // the restart lands inside its build
  const stateDir = join(work, 'state');
  const env = { FP_DEPS_INDEX_URL: 'none', FP_DEPS_FIND_LINKS: wheels, FP_DISPATCH_LEASE_MS: '1000' };

  it('the deploy completes with the rebuilt site, the run retries after the restart and ends succeeded', async () => {
    const port = Number(process.env.FP_TEST_PORT ?? 0) || await freePort();
    const args = ['--state-dir', stateDir, '--port', String(port)];
    const first = startMain(args, env);
    const { url, token } = await started(first);
    const api = new Api(url, token!);
    const name = fnName('restartdeps');
    const failsOnce = py('def handler(event, context):', '    if context.attempt < 2:', '        raise RuntimeError("transient")', '    return {"attempt": context.attempt}');
    await deployed(api, name, { 'main.py': failsOnce }, { retry: { maxAttempts: 3, backoff: '8s', maxBackoff: '8s' } });
    const fired = await fetch(`${url}/async/${name}/`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' });
    assert.equal(fired.status, 202);
    const { runId } = (await fired.json()) as { runId: string };
    await until('the first attempt failed', async () => (await runView(api, runId)).attempts?.length >= 1, 30_000);

    const dir = join(work, 'fn');
    mkdirSync(dir);
    writeFileSync(join(dir, 'platform.yaml'), `kind: function\nname: ${name}\n`);
    writeFileSync(join(dir, 'requirements.txt'), 'heavy\n');
    writeFileSync(join(dir, 'main.py'), py('import heavy', 'def handler(event, context):', '    return {"deps": heavy.NAME, "version": context.function_version}'));
    const deploy = spawnCli(['deploy'], { cwd: dir, env: { FP_URL: url, FP_TOKEN: token!, HOME: work, FP_CONFIG_DIR: work }, timeoutMs: 150_000 });
    let phase = '';
    await until('the build installs', async () => {
      const res = await api.call('GET', `/functions/${name}/versions/2/deps`);
      phase = res.body.deps?.phase ?? res.body.deps?.state ?? '';
      return phase === 'installing' || phase === 'compiling' || phase === 'ready';
    }, 60_000);
    assert.notEqual(phase, 'ready', 'the build ended before the restart could land in it');
    const waiting = await runView(api, runId);
    first.child.kill('SIGTERM');
    assert.equal((await first.exited).code, 0);
    await sleep(1_500); // down a moment, as a restart is: the deploy's polls are refused
    const second = startMain(args, env);
    const again = await started(second);
    try {
      const cli = await deploy;
      // Before: exit 5, `[UNREACHABLE] cannot reach the platform`, and version 2 never deployed.
      assert.equal(cli.code, 0, `${cli.stdout}\n${cli.stderr}`);
      assert.match(cli.stderr, /the platform does not answer \(restarting\?\)/);
      const served = await fetch(`${again.url}/fn/${name}/`);
      assert.deepEqual(await served.json(), { deps: 'heavy-1.0', version: '2' });

      const api2 = new Api(again.url, token!);
      await until('the run ends', async () => ['succeeded', 'failed', 'cancelled'].includes((await runView(api2, runId)).state), 30_000);
      const run = await runView(api2, runId);
      assert.equal(run.state, 'succeeded', `${JSON.stringify(run)}\nat the restart: ${JSON.stringify(waiting)}`);
      assert.deepEqual(run.attempts.map((a: { status: string }) => a.status), ['failed', 'succeeded'], JSON.stringify(run));
    } finally {
      second.child.kill('SIGTERM');
      await second.exited;
    }
  });
});
