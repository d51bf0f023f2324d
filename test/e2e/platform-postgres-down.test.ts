/**
 * The production platform while the PostgreSQL under its FerretDB is killed and started again, calls
 * coming all along (chaos round 8). Sync calls are served and async runs accepted (the queue is in
 * Redis); the API answers 503 STORE_UNAVAILABLE with Retry-After; run records wait in memory (and
 * the run journal) and every one is written once PostgreSQL is back, every accepted run ends
 * `succeeded`, with no step of anyone's. Before, /readyz said "ready" with no problem all along
 * (ADR 0210): now it lists STORE_UNAVAILABLE (degraded, still 200), and clears it by itself once the
 * store answers, with no call coming (its probe read).
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { startPlatform } from '../../platform/start.js';
import { findPostgres, serverSkip, startFerret, startPostgres, startRedis } from '../helpers/servers.js';
import { Api, deployed, py, runsWritten, sleep, TEST_SECRETS_KEY, until } from './platform-harness.js';

const skip = serverSkip('redis-server', 'ferretdb') || (findPostgres() === null ? 'skipped: PostgreSQL not installed (apt-get install postgresql)' : false);
const FINAL = new Set(['succeeded', 'failed', 'cancelled']);

async function readiness(url: string): Promise<{ status: number; state: string; problems: string[] }> {
  const res = await fetch(`${url}/readyz`);
  const body = (await res.json()) as { status: string; problems: { code: string }[] };
  return { status: res.status, state: body.status, problems: body.problems.map((p) => p.code) };
}

describe('the production platform while its PostgreSQL is down', { skip }, () => {
  it('serves calls, answers the API 503 STORE_UNAVAILABLE, /readyz degraded; back: ready by itself, every record written, every run succeeded', { timeout: 150_000 }, async (t) => {
    const redis = await startRedis({ appendOnly: true });
    t.after(() => redis.destroy());
    const pg = await startPostgres();
    t.after(() => pg.destroy());
    const ferret = await startFerret({ postgresqlUrl: pg.url });
    t.after(() => ferret.destroy());
    const stateDir = mkdtempSync(join(tmpdir(), 'fp-pg-down-'));
    t.after(() => rmSync(stateDir, { recursive: true, force: true }));
    const platform = await startPlatform({
      store: 'production', redisUrl: redis.url, mongoUrl: ferret.url, mongoDatabase: 'pgdown', redisPrefix: 'pgdown', stateDir, port: 0, poolSize: 1,
      shutdownGraceMs: 1000, secretsKey: TEST_SECRETS_KEY, data: 'off', log: () => {}, runKeepPerMinute: 1_000_000, dispatchLeaseMs: 3000,
    });
    t.after(() => platform.close());
    const api = new Api(platform.url, platform.takeAdminToken() ?? null);
    await deployed(api, 'echo', { 'main.py': py('def handler(event, context):', '    print("line")', '    return {"ok": 1}') });
    assert.deepEqual(await readiness(platform.url), { status: 200, state: 'ready', problems: [] });

    let served = 0;
    const accepted: string[] = [];
    const calls = async (n: number): Promise<void> => {
      for (let i = 0; i < n; i++) {
        const res = await fetch(`${platform.url}/fn/echo/`);
        assert.equal(res.status, 200, await res.text());
        await res.arrayBuffer().catch(() => {});
        served++;
        const queued = await fetch(`${platform.url}/async/echo/`, { method: 'POST', body: '{}' });
        const body = (await queued.json()) as { runId: string };
        assert.equal(queued.status, 202, JSON.stringify(body));
        accepted.push(body.runId);
      }
    };
    await calls(10);
    await pg.stop('SIGKILL');
    await calls(20);
    const refused = await api.call('POST', '/functions', { name: 'during' });
    assert.equal(refused.status, 503, JSON.stringify(refused.body));
    assert.equal(refused.body.error.code, 'STORE_UNAVAILABLE');
    assert.equal(refused.headers.get('retry-after'), '1');
    const down = await readiness(platform.url);
    assert.deepEqual(down, { status: 200, state: 'degraded', problems: ['STORE_UNAVAILABLE'] }, 'still served: degraded, not out of rotation');
    const anonymous = await (await fetch(`${platform.url}/readyz`)).text();
    assert.ok(!anonymous.includes(String(pg.port)) && !anonymous.includes(String(ferret.port)), `/readyz named an address: ${anonymous}`);
    await calls(10);

    await pg.start();
    // No call comes: /readyz finds the store answering again by itself (its probe, at most every 5 s).
    await until('/readyz ready again', async () => (await readiness(platform.url)).state === 'ready', 30_000);
    await runsWritten(platform.url, 30_000);
    for (const id of accepted) {
      const deadline = Date.now() + 30_000;
      let state = '';
      while (!FINAL.has(state)) {
        assert.ok(Date.now() < deadline, `run ${id} still ${state}`);
        const res = await api.call('GET', `/runs/${id}`);
        state = res.status === 200 ? (res.body.run.state as string) : String(res.status);
        if (!FINAL.has(state)) await sleep(100);
      }
      assert.equal(state, 'succeeded', id);
    }
    await runsWritten(platform.url, 30_000);
    const listed = await api.call('GET', '/runs?function=echo&limit=500');
    assert.equal(listed.status, 200, JSON.stringify(listed.body));
    const items = listed.body.items as { trigger: string; runId: string }[];
    assert.equal(items.filter((run) => run.trigger === 'http').length, served, 'every sync call has its record');
    const recorded = new Set(items.filter((run) => run.trigger === 'async').map((run) => run.runId));
    assert.deepEqual(accepted.filter((id) => !recorded.has(id)), [], 'every accepted run has its record');
    assert.equal((await api.call('POST', '/functions', { name: 'after' })).status, 201);
  });
});
