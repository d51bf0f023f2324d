/**
 * The platform as a process (`node dist/platform/main.js`): the admin token printed once on the
 * first start, the gateway staying responsive during a large upload, a clean stop on SIGTERM,
 * state surviving a restart (functions, versions, runs; the code directory rebuilt), a lost
 * admin token replaced with --rotate-admin-token, and bad settings refused all at once.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import http from 'node:http';
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { Api, createFunction, deploy, deployed, errorOf, fnName, handlerReturning, py, sleep, upload } from './platform-harness.js';
import { running, started, startMain, type Proc } from './main-harness.js';
import { MongoClient } from 'mongodb';
import { processesWith } from '../helpers/processes.js';
import { cpuOf, cpuSince, type CpuSample } from '../helpers/thread-cpu.js';
import { findBinary, serverSkip, startFerret, startRedis, type ServerProcess } from '../helpers/servers.js';
import { defaultPoolConfig } from '../../poolmgr/index.js';

async function stop(proc: Proc): Promise<void> {
  proc.child.kill('SIGTERM');
  const exit = await proc.exited;
  assert.equal(exit.code, 0, exit.stderr);
  assert.match(exit.stdout, /stopped/);
}

/** Builds a 40 MiB bundle (10 random files of 4 MiB) and uploads it; prints `sending`, then the answer. */
const UPLOADER = `
import { randomBytes } from 'node:crypto';
const files = [{ path: 'main.py', contentBase64: Buffer.from('def handler(e, c):\\n    return 1\\n').toString('base64') }];
for (let i = 0; i < 10; i++) files.push({ path: 'data/part-' + i + '.bin', contentBase64: randomBytes(4 * 1024 * 1024).toString('base64') });
const body = Buffer.from(JSON.stringify({ files }));
process.stdout.write('sending\\n');
const t0 = performance.now();
const res = await fetch(process.env.FP_URL, { method: 'POST', headers: { authorization: 'Bearer ' + process.env.FP_TOKEN }, body });
const text = await res.text();
process.stdout.write(JSON.stringify({ status: res.status, ms: performance.now() - t0, body: JSON.parse(text) }));
`;

/**
 * Uploads the 40 MiB bundle from another process while asking /healthz in a loop; the upload must
 * become version `expectedVersion`. Returns the health checks answered meanwhile and the CPU time
 * the platform process `pid` used while the body was sent and checked, on its main thread and in all.
 */
async function uploadWhileProbing(url: string, versionsUrl: string, expectedVersion: number, pid: number): Promise<{ checks: number; cpu: CpuSample; uploadMs: number }> {
  const uploader = spawn(process.execPath, ['--input-type=module', '-e', UPLOADER], {
    env: { PATH: process.env['PATH'] ?? '', FP_URL: versionsUrl, FP_TOKEN: token },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  running.add(uploader);
  let report = '';
  let finished = false;
  const exited = new Promise<void>((resolve) => uploader.on('exit', () => {
    finished = true;
    running.delete(uploader);
    resolve();
  }));
  // Measure only once the uploader has its body ready and starts sending.
  const sending = new Promise<void>((resolve) => uploader.stdout!.on('data', (c: Buffer) => {
    report += c.toString();
    if (report.includes('sending')) resolve();
  }));
  await Promise.race([sending, exited]);
  const before = cpuOf(pid);
  let checks = 0;
  while (!finished) {
    const health = await fetch(`${url}/healthz`);
    await health.arrayBuffer();
    assert.equal(health.status, 200);
    checks++;
    await Promise.race([sleep(20), exited]);
  }
  const cpu = cpuSince(before, cpuOf(pid));
  const result = JSON.parse(report.slice(report.indexOf('{'))) as { status: number; ms: number; body: { version?: { version: number; fileCount: number } } };
  assert.equal(result.status, 201, JSON.stringify(result.body));
  assert.deepEqual([result.body.version?.version, result.body.version?.fileCount], [expectedVersion, 11]);
  return { checks, cpu, uploadMs: result.ms };
}

let token = '';

/** A platform of its own (shutdown grace `graceMs`) with a function that sleeps `?sleep=` seconds. */
async function sleeperPlatform(prefix: string, graceMs: string) {
  const stateDir = mkdtempSync(join(tmpdir(), `fp-main-${prefix}-`));
  after(() => rmSync(stateDir, { recursive: true, force: true }));
  const proc = startMain(['--state-dir', stateDir, '--port', '0'], { FP_SHUTDOWN_GRACE_MS: graceMs });
  const { url, token } = await started(proc);
  const name = fnName(prefix);
  await deployed(new Api(url, token!), name, { 'main.py': py('import time', 'def handler(event, context):', '    time.sleep(float(event["query"].get("sleep", "0")))', '    return {"ok": True}') });
  return { stateDir, proc, url, token, name };
}

describe('platform process', () => {
  const stateDir = mkdtempSync(join(tmpdir(), 'fp-main-'));
  after(() => rmSync(stateDir, { recursive: true, force: true }));
  const keep = fnName('keep');
  let runId = '';

  it('prints the admin token on the first start, serves the API, and stops cleanly on SIGTERM', async () => {
    const proc = startMain(['--state-dir', stateDir, '--port', '0']);
    const first = await started(proc);
    assert.ok(first.token, 'the first start prints an admin token');
    assert.match(proc.stdout(), new RegExp(`^  store: embedded SQLite \\(${stateDir.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}/platform\\.db, async\\.db\\)$`, 'm'));
    token = first.token!;
    const api = new Api(first.url, token);
    await deployed(api, keep, handlerReturning('kept'));
    const res = await fetch(`${first.url}/fn/${keep}/`);
    assert.deepEqual(await res.json(), { value: 'kept', version: '1' });
    runId = res.headers.get('x-run-id')!;
    await stop(proc);
  });

  it('keeps functions, versions and runs across a restart, and rebuilds the code directory', async () => {
    rmSync(join(stateDir, 'code'), { recursive: true, force: true });
    const proc = startMain([], { FP_STATE_DIR: stateDir, FP_PORT: '0' });
    const again = await started(proc);
    assert.equal(again.token, undefined, 'the token is shown only once');
    assert.match(proc.stdout(), /\(1 function\)/);
    const api = new Api(again.url, token);
    const fn = await api.call('GET', `/functions/${keep}`);
    assert.equal(fn.body.function.activeVersion, 1);
    const versions = await api.call('GET', `/functions/${keep}/versions`);
    assert.deepEqual(versions.body.items.map((v: { version: number }) => v.version), [1]);
    const run = await api.call('GET', `/runs/${runId}`);
    assert.equal(run.status, 200, 'the run written before the stop is still there');
    assert.equal(run.body.run.function, keep);
    const res = await fetch(`${again.url}/fn/${keep}/`);
    assert.deepEqual(await res.json(), { value: 'kept', version: '1' });
    await stop(proc);
  });

  it('stays responsive (/healthz) while a 40 MiB bundle is uploaded and hashed', async (t) => {
    const proc = startMain(['--state-dir', stateDir, '--port', '0']);
    const { url } = await started(proc);
    const name = fnName('big');
    assert.equal((await new Api(url, token).call('POST', '/functions', { name })).status, 201);
    const { checks, cpu, uploadMs } = await uploadWhileProbing(url, `${url}/api/v1/functions/${name}/versions`, 1, proc.child.pid!);
    t.diagnostic(`upload ${uploadMs.toFixed(0)} ms; ${checks} health checks; platform CPU: main thread ${cpu.mainMs} ms of ${cpu.totalMs} ms`);
    assert.ok(checks >= 1, 'health checks were answered during the upload');
    // Parsing, decoding and hashing the bundle is most of the CPU the upload costs. Off the event
    // loop (worker threads) the main thread uses about a quarter of it here (receiving the body,
    // the health checks); on it, about nine tenths. CPU time, unlike a health check's latency,
    // does not grow when other processes compete for the cores.
    assert.ok(cpu.mainMs * 2 < cpu.totalMs, `the main thread used ${cpu.mainMs} ms of the platform's ${cpu.totalMs} ms of CPU during the upload`);
    await stop(proc);
  });

  it('SIGHUP (a closed terminal, a log rotation\'s kill -HUP) stops it as SIGTERM does: the call in flight answered, exit 0 (ops round 5)', async () => {
    // Before: Node's default for SIGHUP ended the process at once, the call cut, no line in the log.
    const { proc, url, name } = await sleeperPlatform('hup', '6000');
    const call = fetch(`${url}/fn/${name}/?sleep=2`);
    await sleep(700);
    proc.child.kill('SIGHUP');
    const answered = await call;
    assert.equal(answered.status, 200);
    const exit = await proc.exited;
    assert.equal(exit.code, 0, exit.stderr);
    assert.match(exit.stdout, /SIGHUP, shutting down/);
    assert.match(exit.stdout, /stopped/);
  });

  it('refuses a second process on a state directory a running one holds (STATE_DIR_IN_USE), exit 1', async () => {
    const proc = startMain(['--state-dir', stateDir, '--port', '0']);
    await started(proc);
    const second = await startMain(['--state-dir', stateDir, '--port', '0']).exited;
    assert.equal(second.code, 1, second.stderr);
    assert.match(second.stderr, /STATE_DIR_IN_USE/);
    assert.match(second.stderr, new RegExp(`pid ${proc.child.pid}`));
    await stop(proc);
  });

  // New-user round 13: uWS gives no errno, and each of these said "(in use or not permitted)".
  it('a port another process holds, or an address not of this machine, is LISTEN_FAILED naming the cause (exit 1)', async (t) => {
    const holder = http.createServer();
    await new Promise<void>((done) => holder.listen(0, '127.0.0.1', done));
    t.after(() => holder.close());
    const port = (holder.address() as { port: number }).port;
    const taken = await startMain(['--state-dir', stateDir, '--port', String(port)]).exited;
    assert.equal(taken.code, 1, taken.stderr);
    assert.match(taken.stderr, new RegExp(`\\[LISTEN_FAILED\\] cannot listen on 127\\.0\\.0\\.1:${port}: another process listens on port ${port} \\(\`ss -ltnp 'sport = :${port}'\` names it.*stop it, or pick another port`));
    // TEST-NET-1 (RFC 5737): never an address of this machine.
    const foreign = await startMain(['--state-dir', stateDir, '--port', '0', '--host', '192.0.2.1']).exited;
    assert.equal(foreign.code, 1, foreign.stderr);
    assert.match(foreign.stderr, /\[LISTEN_FAILED\] cannot listen on 192\.0\.2\.1:0: 192\.0\.2\.1 is not an address of this machine/);
  });

  it('replaces a lost admin token with --rotate-admin-token', async () => {
    const proc = startMain(['--state-dir', stateDir, '--port', '0', '--rotate-admin-token']);
    const { url, token: fresh } = await started(proc);
    assert.ok(fresh && fresh !== token);
    // The CLI still holds the old one: the banner says so and how to give it the new one.
    assert.ok(proc.stdout().includes(`every earlier admin token stopped working; give this one to the CLI: fastapi-platform login ${url}, which asks for it`), proc.stdout());
    const stale = await new Api(url, token).call('GET', '/functions');
    assert.deepEqual([stale.status, errorOf(stale).code], [401, 'ADMIN_TOKEN_INVALID']);
    assert.equal((await new Api(url, fresh!).call('GET', '/functions')).status, 200);
    // In the audit log, install-wide, as the API's rotation is (ops round 5: it was in none).
    const audit = await new Api(url, fresh!).call('GET', '/audit?scope=all&action=admin-token.rotate');
    assert.equal(audit.status, 200);
    const [entry] = audit.body.items as { workspace: string | null; actor: { label: string; role: string }; detail: { newTokenId: string; revoked: string[] } }[];
    assert.ok(entry !== undefined, JSON.stringify(audit.body));
    assert.equal(entry.workspace, null);
    assert.equal(entry.actor.role, 'root');
    assert.match(entry.actor.label, /^--rotate-admin-token on /);
    assert.equal(entry.detail.revoked.length, 1);
    await stop(proc);
  });

  // New-user round 3: run where no platform's state is (another folder, FP_STATE_DIR forgotten), the
  // rotation started a new, empty platform and printed its first token as the replacement.
  it('refuses --rotate-admin-token for a state directory without a platform (exit 2), creating nothing', async () => {
    const elsewhere = join(mkdtempSync(join(tmpdir(), 'fp-main-rotate-')), 'none');
    after(() => rmSync(join(elsewhere, '..'), { recursive: true, force: true }));
    const refused = await startMain(['--state-dir', elsewhere, '--port', '0', '--rotate-admin-token']).exited;
    assert.equal(refused.code, 2, refused.stdout + refused.stderr);
    assert.match(refused.stderr, new RegExp(`--rotate-admin-token replaces the admin token of an existing platform, and ${elsewhere} holds none .*--state-dir DIR or FP_STATE_DIR`));
    assert.doesNotMatch(refused.stdout, /listening|admin token/);
    assert.throws(() => readFileSync(join(elsewhere, 'platform.db')), /ENOENT/);
  });

  it('refuses bad settings, listing every one (exit 1), and unknown flags (exit 2)', async () => {
    const bad = await startMain(['--port', 'eighty'], { FP_RUN_RETENTION_MS: '7d', FP_DEBUG: 'maybe' }).exited;
    assert.equal(bad.code, 1);
    assert.match(bad.stderr, /\[BAD_CONFIG\]/);
    for (const key of ['FP_PORT', 'FP_RUN_RETENTION_MS', 'FP_DEBUG']) assert.match(bad.stderr, new RegExp(key));
    const usage = await startMain(['--bogus']).exited;
    assert.equal(usage.code, 2);
  });

  // Ops round 3: a service user on a checkout whose .venv links to a Python it cannot run was told
  // SANDBOX_UNAVAILABLE, "run as root, or pass --unsafe-no-sandbox" (neither helps). A file without
  // an execute bit is refused the same way to root, so the test needs no second user.
  it('refuses an interpreter it cannot run with START_FAILED naming it and FP_PYTHON, not the sandbox (exit 1)', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'fp-main-python-'));
    after(() => rmSync(dir, { recursive: true, force: true }));
    const python = join(dir, 'python');
    writeFileSync(python, '#!/bin/sh\n', { mode: 0o644 });
    const refused = await startMain(['--state-dir', join(dir, 'state'), '--port', '0'], { FP_PYTHON: python }).exited;
    assert.equal(refused.code, 1, refused.stderr);
    assert.match(refused.stderr, /\[START_FAILED\] the runtimes' Python interpreter .*python cannot be run by this process .*EACCES.*FP_PYTHON/s);
    assert.doesNotMatch(refused.stderr, /SANDBOX_UNAVAILABLE|unsafe-no-sandbox|zygote/);
  });

  // The same round: FP_PYTHON set to a Python without the runtime's packages (a system python3) was
  // SANDBOX_UNAVAILABLE too, "run as root" to a process running as root. Here the .venv's own
  // Python without its site-packages (-S) stands for it.
  it('refuses an interpreter without the runtime\'s packages with START_FAILED naming the module (exit 1)', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'fp-main-python-'));
    after(() => rmSync(dir, { recursive: true, force: true }));
    const python = join(dir, 'python');
    writeFileSync(python, `#!/bin/sh\nexec ${JSON.stringify(defaultPoolConfig().pythonPath)} -S "$@"\n`, { mode: 0o755 });
    const refused = await startMain(['--state-dir', join(dir, 'state'), '--port', '0'], { FP_PYTHON: python }).exited;
    assert.equal(refused.code, 1, refused.stderr);
    assert.match(refused.stderr, /\[START_FAILED\] the runtimes' Python interpreter .*python has no module msgpack.*FP_PYTHON/s);
    assert.doesNotMatch(refused.stderr, /SANDBOX_UNAVAILABLE|Run as root/);
  });
});

// Ops round 2: a log shipper got plain text with no level, and a banner line that was half an
// entry. With FP_LOG_FORMAT=json every line on stdout and stderr is one JSON object with a level.
describe('platform process with FP_LOG_FORMAT=json', () => {
  const root = mkdtempSync(join(tmpdir(), 'fp-main-json-'));
  const stateDir = join(root, 'state');
  after(() => rmSync(root, { recursive: true, force: true }));

  it('writes every line of stdout and stderr as one JSON object with time, level, component and msg', async () => {
    mkdirSync(stateDir);
    chmodSync(stateDir, 0o777); // a start-time warning from inside the platform (world-writable state directory)
    const proc = startMain(['--state-dir', stateDir, '--port', '0'], { FP_LOG_FORMAT: 'json', FP_NOT_A_SETTING: '1', FP_SECRETS_KEY_FILE: join(root, 'secrets.key') });
    let stderr = '';
    proc.child.stderr!.on('data', (c: Buffer) => (stderr += c.toString()));
    const deadline = Date.now() + 20_000;
    while (!proc.stdout().includes('admin token: fpa_')) {
      assert.ok(Date.now() < deadline, `no admin token line:\n${proc.stdout()}`);
      await sleep(20);
    }
    // A function's own output outside its calls goes to the same log: its own records, whatever it prints.
    const banner = proc.stdout().split('\n').filter((l) => l !== '').map((l) => (JSON.parse(l) as { msg: string }).msg);
    const url = /listening on (http:\/\/\S+)/.exec(banner.join('\n'))![1]!;
    const token = /admin token: (fpa_\S+)/.exec(banner.join('\n'))![1]!;
    const forged = `{"time":"2026-01-01T00:00:00.000Z","level":"error","component":"controlplane","msg":"controlplane: run ${'1'.repeat(8)}-1111-1111-1111-${'1'.repeat(12)} failed"}`;
    await deployed(new Api(url, token), 'printer', { 'main.py': py('import threading, time', 'def later():', '    time.sleep(0.2)', `    print(${JSON.stringify(forged)}, flush=True)`, 'def handler(event, context):', '    threading.Thread(target=later).start()', '    return "ok"') });
    assert.equal((await fetch(`${url}/fn/printer/`)).status, 200);
    while (!stderr.includes('outside a call')) {
      assert.ok(Date.now() < deadline, `the function's late line never reached the log:\n${stderr}`);
      await sleep(20);
    }
    proc.child.kill('SIGTERM');
    const exit = await proc.exited;
    assert.equal(exit.code, 0, exit.stderr);
    chmodSync(stateDir, 0o700);
    const records = `${exit.stdout}${exit.stderr}`.split('\n').filter((l) => l !== '').map((line) => {
      const record = JSON.parse(line) as Record<string, string>;
      assert.deepEqual(Object.keys(record).slice(0, 4), ['time', 'level', 'component', 'msg'], line);
      assert.ok(['info', 'warn', 'error'].includes(record['level']!) && !Number.isNaN(Date.parse(record['time']!)), line);
      return record;
    });
    const find = (text: string): Record<string, string> | undefined => records.find((r) => r['msg']!.includes(text));
    const printed = find('outside a call')!;
    assert.deepEqual([printed['component'], printed['level'], printed['function'], printed['runId']], ['function', 'info', 'printer', undefined]);
    assert.ok(printed['msg']!.includes('controlplane'), printed['msg']!);
    assert.equal(records.filter((r) => r['component'] === 'controlplane').length, 0, 'a function\'s line passed for the control plane\'s');
    assert.equal(find('writable by every user')?.['level'], 'warn');
    assert.equal(find('writable by every user')?.['component'], 'platform');
    assert.equal(find('unknown setting FP_NOT_A_SETTING')?.['level'], 'warn');
    assert.match(find('admin token: fpa_')!['msg']!, /^fp-platform: admin token: fpa_\S+$/);
    assert.deepEqual([find('listening on')?.['level'], find('listening on')?.['component']], ['info', 'fp-platform']);
    assert.equal(find('secrets key: created')?.['level'], 'info');
    assert.ok(find('fp-platform: stopped'));
    const bad = await startMain(['--port', 'eighty'], { FP_LOG_FORMAT: 'json' }).exited;
    assert.equal(bad.code, 1);
    const refusal = JSON.parse(bad.stderr.trim()) as Record<string, string>;
    assert.equal(refusal['level'], 'error');
    assert.match(refusal['msg']!, /\[BAD_CONFIG\].*FP_PORT/s);
  });
});

describe('platform process on the production store', { skip: serverSkip('redis-server', 'ferretdb') }, () => {
  let redis: ServerProcess;
  let ferret: ServerProcess;
  before(async () => {
    [redis, ferret] = await Promise.all([startRedis({ appendOnly: true }), startFerret()]);
  });
  after(async () => {
    await Promise.all([redis?.destroy(), ferret?.destroy()]);
  });

  it('names the store in its banner: Redis and MongoDB host:port (and database), nothing after the hosts', async () => {
    const stateDir = mkdtempSync(join(tmpdir(), 'fp-main-prod-'));
    after(() => rmSync(stateDir, { recursive: true, force: true }));
    const proc = startMain(['--state-dir', stateDir, '--port', '0'], {
      FP_STORE: 'production', FP_REDIS_URL: `${redis.url}/0`, FP_MONGO_URL: `mongodb://127.0.0.1:${ferret.port}/?appName=banner-secret-ish`,
      FP_MONGO_DB: 'fp_banner', FP_DATA: 'off',
    });
    await started(proc);
    const line = proc.stdout().split('\n').find((l) => l.startsWith('  store: '));
    assert.equal(line, `  store: production: Redis 127.0.0.1:${redis.port}, MongoDB 127.0.0.1:${ferret.port}/fp_banner`, proc.stdout());
    await stop(proc);
  });
});

describe('platform process with its embedded FerretDB', { skip: serverSkip('ferretdb') }, () => {
  it('SIGTERM says not ready at once (/readyz 503, no new connection), serves the next call of a connection still open and closes it, lets the sync call and the async attempt in flight finish side by side, within one grace', async () => {
    const { proc, url, name } = await sleeperPlatform('term', '6000');
    // Keep-alive connections to ask on after the signal (the listening socket closes at once), one
    // per question: an answer given while shutting down closes its connection (ops round 1).
    const agents = [new http.Agent({ keepAlive: true, maxSockets: 1 }), new http.Agent({ keepAlive: true, maxSockets: 1 })];
    const ask = (path: string, method = 'GET', agent = agents[0]!): Promise<{ status: number; body: string }> => new Promise((resolve, reject) => {
      const req = http.request(`${url}${path}`, { agent, method }, (res) => {
        let body = '';
        res.on('data', (c: Buffer) => (body += c.toString()));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
      });
      req.on('error', reject);
      req.end();
    });
    assert.equal((await ask('/healthz')).status, 200);
    assert.equal((await ask('/healthz', 'GET', agents[1])).status, 200);
    const queued = await fetch(`${url}/async/${name}/?sleep=3`, { method: 'POST', body: '{}' });
    assert.equal(queued.status, 202);
    const sync = fetch(`${url}/fn/${name}/?sleep=3`);
    await sleep(1000); // both run now
    proc.child.kill('SIGTERM');
    await sleep(300);
    // /readyz says so at once (calls were taken for the dispatcher's grace while it said ready).
    // A call on a connection open before the signal is served and closes it (ADR 0118: it was
    // refused 503 SHUTTING_DOWN); a new connection is refused.
    assert.equal((await ask('/readyz', 'GET', agents[1])).status, 503);
    const late = await ask(`/fn/${name}/`);
    assert.equal(late.status, 200, late.body);
    await assert.rejects(ask(`/fn/${name}/`), /ECONNREFUSED/);
    const answered = await sync;
    assert.equal(answered.status, 200);
    const exit = await proc.exited;
    for (const agent of agents) agent.destroy();
    assert.equal(exit.code, 0, exit.stderr);
    assert.match(exit.stdout, /stopped/);
  });

  it('a sync call still running when the grace ends gets 503 SHUTTING_DOWN and a run record; an async attempt cut so runs again (reliability round, 2026-12-05)', async () => {
    const { stateDir, proc, url, token, name } = await sleeperPlatform('cut', '1500');
    const queued = (await (await fetch(`${url}/async/${name}/?sleep=10`, { method: 'POST', body: '{}' })).json()) as { runId: string };
    const sync = fetch(`${url}/fn/${name}/?sleep=10`);
    await sleep(1000); // both run now
    proc.child.kill('SIGTERM');
    // Before, the connection closed at the grace's end with no status line, and no run was recorded.
    const cut = await sync;
    assert.equal(cut.status, 503);
    const body = (await cut.json()) as { error: { code: string; runId: string } };
    assert.equal(body.error.code, 'SHUTTING_DOWN');
    assert.match(body.error.runId, /^[0-9a-f-]{36}$/);
    const exit = await proc.exited;
    assert.equal(exit.code, 0, exit.stderr);
    // Started again on the same state: the cut call's run is there, failed with the code.
    const again = startMain(['--state-dir', stateDir, '--port', '0'], { FP_SHUTDOWN_GRACE_MS: '1500' });
    after(async () => { again.child.kill('SIGKILL'); await again.exited; });
    const second = await started(again);
    const api2 = new Api(second.url, token!);
    const run = await api2.call('GET', `/runs/${body.error.runId}`);
    assert.equal(run.status, 200, JSON.stringify(run.body));
    assert.equal(run.body.run.errorCode, 'SHUTTING_DOWN');
    // The async attempt the shutdown cut did not count as a failure: the run is not failed.
    const asyncRun = await api2.call('GET', `/runs/${queued.runId}`);
    assert.equal(asyncRun.status, 200);
    assert.notEqual(asyncRun.body.run.state, 'failed', JSON.stringify(asyncRun.body.run));
  });

  it('a Ctrl-C (SIGINT to the whole process group) lets a call in flight finish with its database; FerretDB is stopped after the drain, not by the keypress', async () => {
    const stateDir = mkdtempSync(join(tmpdir(), 'fp-main-ctrlc-'));
    after(() => rmSync(stateDir, { recursive: true, force: true }));
    const proc = startMain(['--state-dir', stateDir, '--port', '0'], { FP_FERRETDB: findBinary('ferretdb')!, FP_SHUTDOWN_GRACE_MS: '10000' }, { detached: true });
    const { url, token } = await started(proc);
    // FerretDB leads a process group of its own: the terminal's Ctrl-C reaches the platform only.
    const ferret = processesWith(join(stateDir, 'data', 'ferretdb'));
    assert.equal(ferret.length, 1, 'one FerretDB of this state directory');
    const pgidOf = (pid: number): number => Number(readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ')[2]);
    assert.notEqual(pgidOf(ferret[0]!), pgidOf(proc.child.pid!));
    const api = new Api(url, token!);
    const name = fnName('ctrlc');
    await createFunction(api, name);
    const code = py(
      'import time',
      'def handler(event, context):',
      '    context.db.notes.insert_one({"at": "start"})',
      '    time.sleep(1.5)',
      '    context.db.notes.insert_one({"at": "end"})',
      '    return {"count": context.db.notes.count_documents({})}',
    );
    await upload(api, name, { 'main.py': code }, { manifest: { kind: 'function', name, data: { mongo: { database: 'ctrlc' } } } });
    await deploy(api, name);
    const call = fetch(`${url}/fn/${name}/`, { method: 'POST', body: '{}' });
    // Signal once the handler is inside its call (its first write landed), as a terminal's Ctrl-C would.
    const direct = new MongoClient(`mongodb://${encodeURIComponent(join(stateDir, 'data', 'ferretdb', 'ferretdb.sock'))}/`);
    after(() => direct.close());
    for (let i = 0; (await direct.db('default_ctrlc').collection('notes').countDocuments({})) === 0; i++) {
      assert.ok(i < 400, 'the call never wrote');
      await sleep(25);
    }
    process.kill(-proc.child.pid!, 'SIGINT');
    const res = await call;
    const body = await res.text();
    assert.equal(res.status, 200, body);
    assert.deepEqual(JSON.parse(body), { count: 2 });
    const exit = await proc.exited;
    assert.equal(exit.code, 0, exit.stderr);
    assert.doesNotMatch(exit.stdout + exit.stderr, /ferretdb exited/);
  });
});
