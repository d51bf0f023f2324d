/**
 * A hostile function's run records, in production mode on the README's production setup (FerretDB
 * on PostgreSQL, Redis): everything a function controls in its own record (log text with NUL and a
 * lone surrogate, a level name with `$` and `.`, a 300 000-character line, an exception class named
 * `a.b$c`, its message with a NUL and a lone surrogate) is stored or isolated, and no other workspace's run waits for it
 * (red team 28's NUL; sink round 2, ADR 0173). Skipped without PostgreSQL, FerretDB or Redis.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { startPlatform, type StartedPlatform } from '../../platform/start.js';
import { scrape, valueOf } from '../helpers/prom-text.js';
import { findPostgres, serverSkip, startFerret, startPostgres, startRedis, type ServerProcess } from '../helpers/servers.js';
import { Api, deployed, fnName, py, runsWritten, TEST_SECRETS_KEY } from './platform-harness.js';

const skip = serverSkip('redis-server', 'ferretdb') || (findPostgres() === null ? 'no PostgreSQL (apt-get install postgresql)' : false);

const EVIL = {
  'main.py': py(
    'import logging, sys',
    'def handler(event, context):',
    '    print("nul\\x00byte")',
    '    try:',
    '        sys.stdout.write("lone\\ud800surrogate\\n")',
    '    except Exception as e:',
    '        print("surrogate refused:", type(e).__name__)',
    '    logging.addLevelName(26, "$where.a")',
    '    logging.getLogger("evil").log(26, "dollar level")',
    '    print("x" * 300000)',
    '    cls = type("a.b$c", (Exception,), {})',
    '    raise cls("message with \\x00 and \\ud800")',
  ),
};
const HELLO = { 'main.py': py('def handler(event, context):', '    print("hello from the other workspace")', '    return {"ok": True}') };

describe('a hostile function\'s own run records, production mode on FerretDB over PostgreSQL', { skip, timeout: 180_000 }, () => {
  const servers: ServerProcess[] = [];
  let platform: StartedPlatform;
  let stateDir: string;
  let api: Api;
  const logs: string[] = [];
  before(async () => {
    const pg = await startPostgres();
    servers.push(pg);
    const [ferret, redis] = await Promise.all([startFerret({ postgresqlUrl: pg.url }), startRedis()]);
    servers.push(ferret, redis);
    stateDir = mkdtempSync(join(tmpdir(), 'fp-evil-records-'));
    const id = randomBytes(4).toString('hex');
    platform = await startPlatform({
      stateDir, port: 0, poolSize: 2, shutdownGraceMs: 2000, secretsKey: TEST_SECRETS_KEY, log: (line) => logs.push(line),
      store: 'production', redisUrl: redis.url, mongoUrl: ferret.url, mongoDatabase: `evil_${id}`, redisPrefix: `evil${id}`,
    });
    api = new Api(platform.url, platform.takeAdminToken() ?? null);
  });
  after(async () => {
    await platform?.close();
    if (stateDir) rmSync(stateDir, { recursive: true, force: true });
    // FerretDB and Redis before the PostgreSQL under FerretDB.
    for (const s of servers.reverse()) await s.destroy().catch(() => {});
  });

  it('every run of the hostile function and of another workspace is stored; none waits, none is dropped', async () => {
    const workspace = `other-${randomBytes(3).toString('hex')}`;
    assert.equal((await api.call('POST', '/workspaces', { name: workspace })).status, 201);
    const other = new Api(platform.url, (await api.call('POST', '/tokens', { role: 'deployer', label: 'other' }, { 'fp-workspace': workspace })).body.secret as string);
    const evil = fnName('evil');
    const hello = fnName('hello');
    await deployed(api, evil, EVIL);
    await deployed(other, hello, HELLO);
    const call = async (path: string): Promise<string> => {
      const res = await fetch(`${platform.url}${path}`);
      await res.arrayBuffer();
      return res.headers.get('x-run-id') ?? '';
    };
    const evilRuns: string[] = [];
    const helloRuns: string[] = [];
    for (let i = 0; i < 3; i++) {
      evilRuns.push(await call(`/fn/${evil}/?q=%00`));
      helloRuns.push(await call(`/fn/${hello}.${workspace}/`));
    }
    assert.ok([...evilRuns, ...helloRuns].every((id) => id !== ''), 'every call answered with its run id');
    await runsWritten(platform.url, 30_000);
    for (const runId of helloRuns) {
      const got = await other.call('GET', `/runs/${runId}`);
      assert.equal(got.status, 200, `the other workspace's run ${runId}: ${JSON.stringify(got.body)}`);
      assert.ok((got.body.run.logs as { msg: string }[]).some((l) => l.msg === 'hello from the other workspace'), JSON.stringify(got.body).slice(0, 500));
    }
    const evilShown: string[] = [];
    for (const runId of evilRuns) {
      const got = await api.call('GET', `/runs/${runId}`);
      assert.equal(got.status, 200, `the hostile run ${runId} is listed too: ${JSON.stringify(got.body)}`);
      assert.equal(got.body.run.status, 'failed', JSON.stringify(got.body).slice(0, 500));
      evilShown.push(JSON.stringify(got.body.run).slice(0, 2000));
    }
    // The hostile text is kept as the store can hold it (a NUL as U+FFFD), not lost.
    assert.match(evilShown[0]!, /nul\uFFFDbyte/);
    assert.match(evilShown[0]!, /"type":"a\.b\$c","message":"message with \uFFFD and /);
    // The rollups are written every 5 s: they are not held either.
    const deadline = Date.now() + 30_000;
    let m = await scrape(platform.url, api.token);
    while ((valueOf(m, 'fp_run_sink_buffered_records', { target: 'history' }) ?? 0) > 0 && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 250));
      m = await scrape(platform.url, api.token);
    }
    assert.equal(valueOf(m, 'fp_run_sink_buffered_records', { target: 'history' }), 0, 'the rollups are written');
    assert.equal(valueOf(m, 'fp_run_sink_flush_duration_seconds_count', { target: 'runs', result: 'error' }) ?? 0, 0, 'no write of run records failed');
    assert.equal(valueOf(m, 'fp_runs_dropped_total', { reason: 'runs_refused' }) ?? 0, 0);
    assert.ok(!logs.some((l) => /could not write run records/.test(l)), logs.join('\n'));
  });
});
