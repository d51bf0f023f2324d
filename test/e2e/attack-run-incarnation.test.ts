/**
 * `GET /runs/<id>` decides by the run's own incarnation, not by time (ADR 0235). It compared the
 * run's acceptance time with the createdAt of the function now under its key: a run of another
 * incarnation accepted later than that createdAt passed for the function's own. Here a state
 * directory's platform.db is restored from a copy taken before the function was deleted and
 * created again (async.db kept as it is): the restored function is the first incarnation again,
 * and the second incarnation's async run, accepted after the first was created, was shown to it
 * (its request's answer, its attempts) although it was never that function's run.
 * The logs of a run by id follow the same rule. In-process embedded platforms, one after the other
 * on the same state directory.
 */
import assert from 'node:assert/strict';
import { cpSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import Database from 'better-sqlite3';
import { startPlatform, type StartedPlatform } from '../../platform/start.js';
import { Api, deployed, errorOf, fnName, py, sleep, TEST_SECRETS_KEY } from './platform-harness.js';

describe('GET /runs/<id> and the incarnation of the run', () => {
  const root = mkdtempSync(join(tmpdir(), 'fp-run-incarnation-'));
  const stateDir = join(root, 'state');
  let platform: StartedPlatform | undefined;
  let token: string | null = null;
  after(async () => {
    await platform?.close();
    rmSync(root, { recursive: true, force: true });
  });

  async function start(): Promise<Api> {
    platform = await startPlatform({ port: 0, poolSize: 1, stateDir, secretsKey: TEST_SECRETS_KEY, log: () => {} });
    token ??= platform.takeAdminToken() ?? null;
    return new Api(platform.url, token);
  }

  async function stop(): Promise<void> {
    await platform?.close();
    platform = undefined;
  }

  async function finishedRun(api: Api, name: string): Promise<string> {
    const accepted = await fetch(`${platform!.url}/async/${name}/`, { method: 'POST', body: '{}' });
    assert.equal(accepted.status, 202);
    const { runId } = (await accepted.json()) as { runId: string };
    for (let i = 0; i < 200; i++) {
      const state = ((await api.call('GET', `/runs/${runId}`)).body as { run?: { state?: string } }).run?.state;
      if (state === 'succeeded') return runId;
      await sleep(100);
    }
    assert.fail(`run ${runId} did not succeed`);
  }

  it("a restored store's function is not shown the async run of the incarnation deleted after the copy; its own run is found", { timeout: 120_000 }, async () => {
    const name = fnName('inc');
    let api = await start();
    await deployed(api, name, { 'main.py': py('def handler(event, context):', '    return {"incarnation": 1}') });
    const first = await finishedRun(api, name);
    await stop();
    cpSync(join(stateDir, 'platform.db'), join(root, 'platform.db.copy'));
    cpSync(join(stateDir, 'blobs'), join(root, 'blobs.copy'), { recursive: true });

    api = await start();
    assert.equal((await api.call('DELETE', `/functions/${name}`)).status, 204);
    await deployed(api, name, { 'main.py': py('def handler(event, context):', '    return {"incarnation": 2}') });
    const second = await finishedRun(api, name);
    await stop();

    // platform.db (and blobs/) restored from the copy; async.db holds both runs.
    for (const suffix of ['-wal', '-shm']) rmSync(join(stateDir, `platform.db${suffix}`), { force: true });
    cpSync(join(root, 'platform.db.copy'), join(stateDir, 'platform.db'));
    rmSync(join(stateDir, 'blobs'), { recursive: true, force: true });
    cpSync(join(root, 'blobs.copy'), join(stateDir, 'blobs'), { recursive: true });
    api = await start();

    // Before: 200 with `{"incarnation": 2}` as its result (accepted after the restored function's createdAt).
    const other = await api.call('GET', `/runs/${second}`);
    assert.equal(other.status, 404, JSON.stringify(other.body));
    assert.equal(errorOf(other).code, 'RUN_NOT_FOUND');
    for (const verb of ['replay', 'cancel']) assert.equal(errorOf(await api.call('POST', `/runs/${second}/${verb}`)).code, 'RUN_NOT_FOUND');
    const own = await api.call('GET', `/runs/${first}`);
    assert.equal(own.status, 200, JSON.stringify(own.body));
    assert.deepEqual((own.body as { run: { result: { body: unknown } } }).run.result.body, { incarnation: 1 });
  });

  // The logs of a run by id decided by the function key alone: a stored run of another incarnation
  // under the key (stamped with it: what a restored platform.db or a late writer leaves, ADR 0190)
  // had its lines shown to the function now under the key, where `GET /runs/<id>` said 404.
  it("the logs of a run by id: a run stamped with another incarnation of the key is not the function's", { timeout: 120_000 }, async () => {
    const name = fnName('inclogs');
    await stop();
    let api = await start();
    await deployed(api, name, { 'main.py': py('def handler(event, context):', '    print("a line of the run")', '    return {}') });
    const res = await fetch(`${platform!.url}/fn/${name}/`, { method: 'POST', body: '{}' });
    assert.equal(res.status, 200);
    const runId = res.headers.get('x-run-id')!;
    for (let i = 0; i < 50 && (await api.call('GET', `/runs/${runId}`)).status !== 200; i++) await sleep(100);
    const own = await api.call('GET', `/functions/${name}/logs?runId=${runId}`);
    assert.equal(own.status, 200, JSON.stringify(own.body));
    assert.match(JSON.stringify(own.body), /a line of the run/);
    await stop();

    const db = new Database(join(stateDir, 'platform.db'));
    assert.equal(db.prepare('UPDATE runs SET fn_created_at = fn_created_at + 1 WHERE run_id = ?').run(runId).changes, 1);
    db.close();
    api = await start();
    try {
      assert.equal(errorOf(await api.call('GET', `/runs/${runId}`)).code, 'RUN_NOT_FOUND');
      // Before: 200 with the run's line.
      const other = await api.call('GET', `/functions/${name}/logs?runId=${runId}`);
      assert.equal(other.status, 404, JSON.stringify(other.body));
      assert.equal(errorOf(other).code, 'RUN_NOT_FOUND');
    } finally {
      await stop();
    }
  });
});
